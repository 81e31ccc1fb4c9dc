/* alloc.h - checked allocation and the per-request arena. */
#ifndef PATGATE_ALLOC_H
#define PATGATE_ALLOC_H

#include <stddef.h>

/* These never return NULL: running out of memory outside a request is fatal. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);

/*
 * A bump allocator that owns everything one request allocates.  Its first
 * block is kept between requests, so a request that fits in it allocates
 * nothing from the heap.  arena_alloc returns NULL when memory runs out.
 */
struct arena_block;
struct arena {
	struct arena_block	*head;
	size_t			 first_size;
};

void	 arena_init(struct arena *, size_t first_size);
void	*arena_alloc(struct arena *, size_t);
char	*arena_strndup(struct arena *, const char *, size_t);
void	 arena_reset(struct arena *);
void	 arena_free(struct arena *);

/* yajl allocator callbacks backed by an arena (ctx is the struct arena *). */
void	*arena_yajl_malloc(void *ctx, size_t);
void	*arena_yajl_realloc(void *ctx, void *, size_t);
void	 arena_yajl_free(void *ctx, void *);

#endif
