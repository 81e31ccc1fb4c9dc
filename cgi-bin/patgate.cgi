#!/bin/sh
# patgate.cgi - patgate on shared hosting, as a CGI program in your own
# ~/public_html/cgi-bin, run as you by suexec.  README.md, "Shared hosting",
# walks through it; cgi-bin/htaccess.sample goes beside it as .htaccess.
#
# Edit the two paths below (the place of /home/USER), nothing else.  Both
# lie outside public_html: the program, and its configuration, which you
# own and keep mode 600 along with the secret files it names.
PATGATE_PROGRAM=/home/USER/patgate/bin/patgate.fcgi
PATGATE_CONFIG=/home/USER/patgate/etc/patgate/patgate.conf

# suexec hands a CGI program only the variables on its own list, so SetEnv
# in .htaccess never arrives: the configuration's path is set here.  No
# argument is passed on, whatever the query string says.
export PATGATE_CONFIG
exec "$PATGATE_PROGRAM"
