"""apache.py - a private Apache httpd for the end-to-end tests.

Debian's own apache2 (/usr/sbin/apache2, modules in /usr/lib/apache2/modules)
is started as root in the foreground on a free 127.0.0.1 port, with a config
written into a temp dir of its own: ServerRoot, PidFile, ErrorLog, the
runtime dir and mod_cgid's socket all live there, and nothing under
/etc/apache2 is read.  It runs its children as www-data, and it is stopped by
its PID.

    with apache.Apache(["cgi"], mpm="prefork") as a:
        conf = a.patgate_config()               # a copy www-data can read
        a.start(apache.cgi_locations(conf))     # or any config text
        lib.request("GET", "/pat/v1/health", port=a.port)

Config text may say @DIR@ and @PORT@; they are replaced before it is written.
The devstack config's secret files are root's and mode 600, so the CGI (which
Apache runs as www-data) gets a private copy, owned by www-data and mode 600.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import lib

HTTPD = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
# Always loaded: Require, ScriptAlias and SetEnv.
BASE_MODULES = ("authz_core", "alias", "env")
# Small pools: the machine has two cores and other people's tests on them.
MPM_CONFIG = {
    "prefork": "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 16\n",
    "event": "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
             "MinSpareThreads 4\nMaxSpareThreads 32\n",
    "worker": "StartServers 1\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
              "MinSpareThreads 4\nMaxSpareThreads 32\n",
}
# The environment httpd starts with, and so the one its CGI programs inherit:
# nothing of the caller's (Debian's apache2ctl would read /etc/apache2/envvars,
# which only names Debian's own paths; explicit -d and -f need none of it).
HTTPD_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port, host="127.0.0.1"):
    """Whether something accepts a connection on host:port now."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def load_module_line(name):
    """LoadModule for Debian's mod_NAME.so ("cgi", "mpm_event", "proxy_fcgi", ...)."""
    path = os.path.join(MODULES, "mod_%s.so" % name)
    if not os.path.exists(path):
        raise lib.Skip("Apache module %s is not installed" % path)
    return "LoadModule %s_module %s" % (name, path)


class Apache:
    """One private httpd: its dir is made at once, the server is started by start()."""

    def __init__(self, modules, mpm="prefork", user="www-data", group="www-data",
                 log_level="info"):
        if not os.access(HTTPD, os.X_OK):
            raise lib.Skip("%s is not installed" % HTTPD)
        self.modules = [m for m in BASE_MODULES if m not in modules] + list(modules)
        self.mpm = mpm
        self.user, self.group = user, group
        self.log_level = log_level
        self.dir = tempfile.mkdtemp(prefix="patgate-apache-")
        os.chmod(self.dir, 0o755)               # www-data reads its config copy in here
        self.conf = os.path.join(self.dir, "httpd.conf")
        self.error_log_path = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "httpd.pid")
        self.port = None
        self.proc = None

    # -------------------------------------------------------------- config

    def base_config(self):
        lines = [
            "# Written by tests/e2e/apache.py",
            "ServerRoot %s" % self.dir,
            "ServerName 127.0.0.1",
            "Listen 127.0.0.1:%d" % self.port,
            "PidFile %s" % self.pid_file,
            "DefaultRuntimeDir %s" % self.dir,
            "ErrorLog %s" % self.error_log_path,
            "LogLevel %s" % self.log_level,
            "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b %D\" timed",
            "CustomLog %s timed" % os.path.join(self.dir, "access.log"),
            "User %s" % self.user,
            "Group %s" % self.group,
            # A CGI that never answers holds a request for this long, not 300 s.
            "Timeout 20",
            "KeepAlive Off",
            "DocumentRoot %s" % os.path.join(self.dir, "htdocs"),
            load_module_line("mpm_" + self.mpm),
            MPM_CONFIG.get(self.mpm, ""),
        ]
        lines += [load_module_line(m) for m in self.modules]
        if "cgid" in self.modules:
            lines.append("ScriptSock %s" % os.path.join(self.dir, "cgid.sock"))
        if "fcgid" in self.modules:
            # Debian's are under /var/lib/apache2/fcgid; this server's are its own.
            lines += ["FcgidIPCDir %s" % os.path.join(self.dir, "fcgid"),
                      "FcgidProcessTableFile %s" % os.path.join(self.dir, "fcgid_shm")]
        lines += ["<Directory />", "    Require all denied", "    AllowOverride None",
                  "</Directory>"]
        return "\n".join(lines) + "\n"

    def patgate_config(self, name="patgate", owner=None, overrides=None):
        """A copy of var/patgate.conf and its secret files in DIR/NAME, owned by
        owner (the CGI's user) and mode 600; its path.  overrides: key -> value
        (None drops the key)."""
        owner = owner or self.user
        pw = pwd.getpwnam(owner)
        d = os.path.join(self.dir, name)
        os.mkdir(d, 0o700)
        os.chown(d, pw.pw_uid, pw.pw_gid)

        def private(path, text):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
            os.chown(path, pw.pw_uid, pw.pw_gid)

        values = {}
        with open(lib.CONFIG) as f:
            for line in f:
                if "=" in line and not line.lstrip().startswith("#"):
                    k, v = line.split("=", 1)
                    values[k.strip()] = v.strip()
        for key in ("secret_file", "pepper_file"):
            with open(values[key]) as f:
                copy = os.path.join(d, os.path.basename(values[key]))
                private(copy, f.read())
            values[key] = copy
        # A CGI answers one request and exits; should one ever listen, it is here.
        values["listen"] = os.path.join(d, "never.sock")
        for k, v in (overrides or {}).items():
            if v is None:
                values.pop(k, None)
            else:
                values[k] = v
        path = os.path.join(d, "patgate.conf")
        private(path, "".join("%s = %s\n" % kv for kv in values.items()))
        return path

    # -------------------------------------------------------------- running

    def start(self, config="", timeout=15):
        """Write the config (base + config) and start httpd; retry on a port race."""
        os.makedirs(os.path.join(self.dir, "htdocs"), exist_ok=True)
        last = ""
        for _ in range(3):
            self.port = free_port()
            text = self.base_config() + config.replace("@DIR@", self.dir).replace(
                "@PORT@", str(self.port)) + "\n"
            with open(self.conf, "w") as f:
                f.write(text)
            startup = open(os.path.join(self.dir, "startup.log"), "ab")
            self.proc = subprocess.Popen([HTTPD, "-d", self.dir, "-f", self.conf, "-DFOREGROUND"],
                                         env=HTTPD_ENV, stdin=subprocess.DEVNULL,
                                         stdout=startup, stderr=startup, start_new_session=True)
            startup.close()
            if lib.wait_for(lambda: self.proc.poll() is not None or self._ready(), timeout, 0.05) \
                    and self.proc.poll() is None:
                return self
            if self.proc.poll() is None:
                self._kill_tree()
            last = self.read(os.path.join(self.dir, "startup.log"))[-1500:] + \
                self.error_log()[-1500:]
            if "could not bind" not in last and "Address already in use" not in last:
                break
        raise AssertionError("apache did not start (%s): %s" % (self.conf, last))

    def _ready(self):
        try:
            with open(self.pid_file) as f:
                if int(f.read().split()[0]) != self.proc.pid:
                    return False
        except (OSError, ValueError, IndexError):
            return False
        return listening(self.port)

    def stop(self, timeout=15):
        """Stop httpd by its PID (SIGTERM: children too), then anything it left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_tree()
        self.proc = None
        return self.kill_leftovers()

    def _kill_tree(self):
        for pid in lib.children(self.proc.pid):
            _kill(pid)
        _kill(self.proc.pid)
        self.proc.wait(5)

    def cleanup(self):
        self.stop()
        if os.environ.get("PATGATE_KEEP_APACHE") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # -------------------------------------------------------------- looking on

    def processes(self):
        """PIDs of live processes whose environment names this server's dir: the
        CGI programs it started (PATGATE_CONFIG points in here), and anything
        that they started and left behind."""
        marker = ("=" + self.dir + "/").encode()
        own = {os.getpid()}
        if self.proc is not None:
            own.add(self.proc.pid)
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) in own:
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read()
                with open("/proc/%s/stat" % d) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and marker in env and b"GATEWAY_INTERFACE=" in env:
                out.append(int(d))
        return out

    def process_info(self, pid):
        """uid, command line and listening TCP ports' description of a process."""
        try:
            with open("/proc/%d/status" % pid) as f:
                uid = [line.split()[1] for line in f if line.startswith("Uid:")][0]
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return "%d (gone)" % pid
        return "%d uid=%s %s" % (pid, uid, cmd)

    def kill_leftovers(self):
        """Kill (by PID) what processes() finds; their descriptions."""
        found = [self.process_info(p) for p in self.processes()]
        for pid in self.processes():
            _kill(pid)
        lib.wait_for(lambda: not self.processes(), 5)
        return found

    def error_log(self):
        return self.read(self.error_log_path)

    def error_log_size(self):
        try:
            return os.path.getsize(self.error_log_path)
        except OSError:
            return 0

    def error_log_since(self, offset):
        with open(self.error_log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    @staticmethod
    def read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


SAMPLES = os.path.join(lib.ROOT, "conf", "apache")


def sample(name, **defines):
    """conf/apache/NAME as a user would edit it: each `Define KEY value` line at
    its top set to defines[KEY].  A key the sample does not define fails."""
    with open(os.path.join(SAMPLES, name)) as f:
        text = f.read()
    for key, value in defines.items():
        text, n = re.subn(r"(?m)^Define %s .*$" % re.escape(key),
                          lambda m: "Define %s %s" % (key, value), text)
        if n != 1:
            raise AssertionError("conf/apache/%s has %d 'Define %s' lines, not one"
                                 % (name, n, key))
    return text


def include(a, name, text):
    """Write text into the server's dir as NAME; an Include line for it."""
    path = os.path.join(a.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return "Include %s\n" % path


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cgi_locations(config_path, prefix="", handler="cgi-script", binary=None, extra=""):
    """Config that serves patgate's paths as a CGI program: /PREFIX/pat/v1...,
    /PREFIX/api/v1... and /PREFIX/access-token/v1... reach the binary with the
    path (without PREFIX) in PATH_INFO; the Authorization header is passed on;
    PATGATE_CONFIG is config_path.  extra goes inside the <Location>."""
    binary = os.path.realpath(binary or lib.BIN)
    where = "/" + prefix.strip("/") if prefix.strip("/") else ""
    lines = [
        'ScriptAliasMatch "^%s/((pat|api|access-token)/v1.*)$" "%s/$1"' % (where, binary),
        '<LocationMatch "^%s/(pat|api|access-token)/v1">' % where,
        "    SetHandler %s" % handler,
        "    Options +ExecCGI",
        "    CGIPassAuth On",
        "    SetEnv PATGATE_CONFIG %s" % config_path,
        "    Require all granted",
    ]
    if extra:
        lines.append(extra)
    lines.append("</LocationMatch>")
    lines += ["<Directory %s>" % os.path.dirname(binary), "    Options +ExecCGI",
              "    Require all granted", "</Directory>"]
    return "\n".join(lines) + "\n"


def start(modules, config="", mpm="prefork", **kw):
    """A started Apache with these modules (besides BASE_MODULES) and config text."""
    a = Apache(modules, mpm=mpm, **kw)
    try:
        return a.start(config)
    except BaseException:
        a.cleanup()
        raise
