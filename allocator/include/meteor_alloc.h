/* meteor_alloc.h: the C ABI of Meteor's allocator runtime (meteor-alloc).
 *
 * Link with target/runtime/<target>/static/libmeteor_alloc.a (static mode) or
 * target/runtime/<target>/dll/ (libmeteor_alloc.so, meteor_alloc.dll + libmeteor_alloc.dll.a).
 *
 * Every function is thread-safe. Any thread may free any block. Out of memory returns
 * NULL and sets errno to ENOMEM. Blocks of more than 8 bytes are 16-byte aligned (as
 * glibc's); 8-byte and smaller blocks are 8-byte aligned.
 */
#ifndef METEOR_ALLOC_H
#define METEOR_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(METEOR_ALLOC_DLL)
#define MT_API __declspec(dllimport)
#else
#define MT_API
#endif

#define MT_VERSION 100 /* major*10000 + minor*100 + patch */

/* ---- basic allocation ---- */
MT_API void*  mt_malloc(size_t size);
MT_API void*  mt_calloc(size_t count, size_t size);   /* NULL on count*size overflow */
MT_API void*  mt_zalloc(size_t size);
MT_API void*  mt_realloc(void* p, size_t size);        /* in place when it fits; NULL keeps p */
MT_API void   mt_free(void* p);                        /* NULL is ignored */
MT_API void*  mt_aligned_alloc(size_t alignment, size_t size); /* alignment: power of two */
MT_API void*  mt_aligned_realloc(void* p, size_t alignment, size_t size);
MT_API size_t mt_usable_size(const void* p);           /* >= requested size; 0 for NULL */
MT_API int    mt_version(void);

/* ---- first-class heaps (used only by the thread that created them) ---- */
typedef struct mt_heap_s mt_heap_t;
MT_API mt_heap_t* mt_heap_new(void);
MT_API void*      mt_heap_malloc(mt_heap_t* heap, size_t size);
MT_API void*      mt_heap_calloc(mt_heap_t* heap, size_t count, size_t size);
MT_API void*      mt_heap_aligned_alloc(mt_heap_t* heap, size_t alignment, size_t size);
/* Frees every block of the heap at once; blocks may also be freed one by one with mt_free. */
MT_API void       mt_heap_destroy(mt_heap_t* heap);

/* ---- statistics ---- */
typedef struct mt_stats_s {
  int64_t reserved_current, reserved_peak;   /* bytes obtained from the OS */
  int64_t committed_current, committed_peak; /* bytes mapped and not purged */
  int64_t segments_current, segments_peak;
  int64_t pages_current, pages_peak;
  int64_t huge_current, huge_total;
  int64_t threads_current, threads_total;
  int64_t abandoned_current, reclaimed_total;
  int64_t purged_bytes_total;
  int64_t os_calls_total;
} mt_stats_t;
MT_API void mt_stats_print(void);          /* to stderr; METEOR_ALLOC_STATS=1 prints at exit */
MT_API void mt_stats_get(mt_stats_t* out);
MT_API void mt_collect(bool force);        /* free retired pages; force: purge now */

/* ---- options (also read from the environment at start-up) ---- */
typedef enum mt_option_e {
  MT_OPTION_STATS = 0,         /* METEOR_ALLOC_STATS */
  MT_OPTION_PURGE_DELAY = 1,   /* METEOR_ALLOC_PURGE_DELAY (ms; 0 = at once; -1 = never) */
  MT_OPTION_EAGER_PURGE = 2,   /* METEOR_ALLOC_EAGER_PURGE */
  MT_OPTION_SEGMENT_CACHE = 3, /* METEOR_ALLOC_SEGMENT_CACHE (empty segments kept per thread) */
  MT_OPTION_VERBOSE = 4,       /* METEOR_ALLOC_VERBOSE */
  MT_OPTION_RECLAIM_ON_FREE = 5, /* METEOR_ALLOC_RECLAIM_ON_FREE (adopt an exited thread's segment on free) */
  MT_OPTION_LARGE_OS_PAGES = 6 /* METEOR_ALLOC_LARGE_OS_PAGES (2 MiB OS pages behind segments reserved from then on; Linux) */
} mt_option_t;
MT_API long mt_option_get(int option);
MT_API void mt_option_set(int option, long value);

/* ---- runtime integration ---- */
/* hook that ran: 0 none yet, 1 only lazy (first allocation), 2 ELF constructor,
   3 Windows TLS callback, 4 DllMain */
MT_API int  mt_init_mode(void);
MT_API long mt_thread_done_count(void);    /* thread-exit notifications received */
MT_API void mt_process_init(void);
MT_API void mt_thread_done(void);          /* tear down the calling thread's heaps now */

#ifdef __cplusplus
}
#endif
#endif /* METEOR_ALLOC_H */
