/* alloc.c - checked allocation and the per-request arena. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

static void
alloc_fail(size_t n)
{
	log_msg(LVL_ERROR, "event=fatal reason=\"out of memory\" bytes=%zu", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		alloc_fail(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		alloc_fail(nmemb * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		alloc_fail(n);
	return p;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

struct arena_block {
	struct arena_block	*next;
	size_t			 size;
	size_t			 used;
	max_align_t		 data[];
};

#define ALIGN_UP(n) (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

void
arena_init(struct arena *a, size_t first_size)
{
	a->head = NULL;
	a->first_size = first_size;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t size;

	if (n > SIZE_MAX / 4)
		return NULL;
	n = ALIGN_UP(n ? n : 1);
	if (b == NULL || b->size - b->used < n) {
		size = a->first_size;
		if (b != NULL)
			size = b->size * 2;
		if (size < n)
			size = n;
		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX || (p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Release every block but the first one made, which is kept for reuse. */
void
arena_reset(struct arena *a)
{
	struct arena_block *b, *next;

	if (a->head == NULL)
		return;
	for (b = a->head; b->next != NULL; b = next) {
		next = b->next;
		free(b);
	}
	b->used = 0;
	a->head = b;
}

void
arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

/* yajl needs realloc, so each yajl allocation records its size in front. */
void *
arena_yajl_malloc(void *ctx, size_t n)
{
	size_t *p;

	if (n > SIZE_MAX - sizeof(max_align_t) ||
	    (p = arena_alloc(ctx, n + sizeof(max_align_t))) == NULL)
		return NULL;
	*p = n;
	return (char *)p + sizeof(max_align_t);
}

void *
arena_yajl_realloc(void *ctx, void *old, size_t n)
{
	void *p;
	size_t oldn;

	if (old == NULL)
		return arena_yajl_malloc(ctx, n);
	oldn = *(size_t *)((char *)old - sizeof(max_align_t));
	if (n <= oldn)
		return old;
	if ((p = arena_yajl_malloc(ctx, n)) != NULL)
		memcpy(p, old, oldn);
	return p;
}

void
arena_yajl_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
}
