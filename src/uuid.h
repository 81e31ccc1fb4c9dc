/* uuid.h - random UUIDv4 ids (RFC 9562) and checking the ids clients send. */
#ifndef PATGATE_UUID_H
#define PATGATE_UUID_H

#define UUID_LEN	36

/* Write a random version 4 UUID, lower case, NUL-terminated; -1 if no entropy. */
int	uuid_v4(char out[UUID_LEN + 1]);
/* 1 when s is a UUID in its 8-4-4-4-12 hexadecimal form. */
int	uuid_valid(const char *s);

#endif
