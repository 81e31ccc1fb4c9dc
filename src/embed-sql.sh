#!/bin/sh
# embed-sql.sh FILE.sql... - print a C file holding each migration as a string.
# Bytes are written as numbers, so nothing in the SQL needs escaping.
set -e
echo '/* Generated from the sql directory by src/embed-sql.sh: do not edit. */'
echo '#include "migrations.h"'
i=0
for f in "$@"; do
	echo "static const char sql_$i[] = {"
	od -An -v -tx1 "$f" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
	echo "	0 };"
	i=$((i + 1))
done
echo 'const struct migration migrations[] = {'
i=0
for f in "$@"; do
	echo "	{ \"$(basename "$f" .sql)\", sql_$i },"
	i=$((i + 1))
done
echo '};'
echo 'const size_t migrations_count = sizeof(migrations) / sizeof(migrations[0]);'
