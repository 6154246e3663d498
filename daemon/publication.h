/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A kernel's view for the control socket, published without a lock: two
 * buffers and a sequence counter, as in a seqlock (the per_src_counter's
 * top keys, the threshold's open alerts).
 *
 * Access rule: one writer, the kernel replica's lcore (dp), fills the buffer
 * publication_buffer() names (the one the sequence does not) and then
 * publication_publish() bumps the sequence (release). Readers, the control
 * thread (cp), publication_read(): copy the buffer the sequence names and
 * read the sequence again (acquire); an unchanged count means the copy is
 * whole. dp never waits for cp; a copy that races two publications is tried
 * again, a few times.
 */
#ifndef JETSTREAM_PUBLICATION_H
#define JETSTREAM_PUBLICATION_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct publication {
	/* dp: wo (release) after filling a buffer; cp: ro (acquire). 0: none published yet */
	atomic_uint_fast64_t sequence;
};

/** Tries of a copy before it gives up: each lost try means two publications meanwhile. */
#define PUBLICATION_READ_TRIES 8

/** dp: the buffer to fill, of @p buffers (two of @p size bytes). */
static inline void *
publication_buffer(struct publication *publication, void *buffers, size_t size)
{
	uint64_t sequence = atomic_load_explicit(&publication->sequence, memory_order_relaxed);

	/*
	 * The buffer was the published one until the last publication: a
	 * reader may still copy it. The fence keeps the writes that follow from
	 * being seen before that publication's sequence, so the reader's check
	 * of the sequence sees the change (free on x86; needed where stores reorder).
	 */
	atomic_thread_fence(memory_order_release);
	return (char *)buffers + ((sequence + 1) & 1) * size;
}

/** dp: the buffer publication_buffer() named is full: readers take it from now on. */
static inline void
publication_publish(struct publication *publication)
{
	uint64_t sequence = atomic_load_explicit(&publication->sequence, memory_order_relaxed);

	atomic_store_explicit(&publication->sequence, sequence + 1, memory_order_release);
}

/**
 * cp: copy the published buffer of @p buffers (two of @p size bytes) into @p out.
 * @return 0; -ENOENT when nothing was published yet; -EBUSY when every try
 *         raced a publication.
 */
static inline int
publication_read(const struct publication *publication, const void *buffers, size_t size,
		 void *out)
{
	for (unsigned attempt = 0; attempt < PUBLICATION_READ_TRIES; attempt++) {
		uint64_t before = atomic_load_explicit(&publication->sequence, memory_order_acquire);

		if (before == 0)
			return -ENOENT;
		/*
		 * A plain copy, as in any seqlock reader: dp may start rewriting
		 * this buffer while it is copied (a race by C11's letter), and
		 * the sequence check below throws such a torn copy away.
		 */
		memcpy(out, (const char *)buffers + (before & 1) * size, size);
		atomic_thread_fence(memory_order_acquire);
		/* dp writes buffer (before & 1) again only after publishing before + 1 */
		if (atomic_load_explicit(&publication->sequence, memory_order_relaxed) == before)
			return 0;
	}
	return -EBUSY;
}

#endif
