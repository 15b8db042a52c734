/* A threaded C program: N threads allocate with random sizes, hand blocks to each other
 * through shared slots (cross-thread frees), check canaries, and print a checksum that
 * does not depend on the allocator. Used with the static library, LD_PRELOAD and the
 * Windows DLL. With -DMT_CHECKS it also checks the runtime's hooks (mt_init_mode, thread
 * exit notifications). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <malloc.h>
#endif
#ifdef MT_CHECKS
#include "meteor_alloc.h"
#endif

#define THREADS 6
#define OPS 30000
#define SLOTS 64

typedef struct { size_t size; uint32_t canary; } header_t;
static void* volatile slots[THREADS][SLOTS];
static uint64_t sums[THREADS];

static void* xchg(void* volatile* p, void* v) {
#ifdef _WIN32
  return InterlockedExchangePointer((PVOID volatile*)p, v);
#else
  return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL);
#endif
}

static void check_and_free(void* p, uint64_t* sum) {
  if (!p) return;
  header_t* h = p;
  unsigned char* body = (unsigned char*)(h + 1);
  size_t n = h->size - sizeof(header_t);
  for (size_t i = 0; i < n && i < 64; i++) {
    if (body[i] != (unsigned char)(h->canary + i)) { printf("canary mismatch\n"); exit(3); }
  }
  if (n > 0 && body[n - 1] != (unsigned char)(h->canary + n - 1)) { printf("tail canary mismatch\n"); exit(3); }
  *sum += h->size;
  free(p);
}

static void* make(size_t size, uint32_t canary) {
  header_t* h = (size & 1) ? calloc(1, size) : malloc(size);
  if (!h) { printf("out of memory\n"); exit(2); }
  h->size = size; h->canary = canary;
  unsigned char* body = (unsigned char*)(h + 1);
  size_t n = size - sizeof(header_t);
  for (size_t i = 0; i < n && i < 64; i++) body[i] = (unsigned char)(canary + i);
  if (n > 0) body[n - 1] = (unsigned char)(canary + n - 1);
  return h;
}

#ifdef _WIN32
static DWORD WINAPI worker(LPVOID arg)
#else
static void* worker(void* arg)
#endif
{
  int t = (int)(intptr_t)arg;
  uint32_t x = 2463534242u + (uint32_t)t * 7919u;
  uint64_t sum = 0;
  for (int i = 0; i < OPS; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    size_t size = sizeof(header_t) + ((x % 100) < 2 ? (x >> 4) % 600000 : (x >> 4) % 2000);
    void* p = make(size, x);
    if (i % 7 == 0) {
      void* q = realloc(p, size + 100);
      if (!q) { printf("realloc failed\n"); exit(2); }
      header_t* h = q; h->size = size; /* content of the first `size` bytes is kept */
      p = q;
    }
    int other = (t + 1 + (int)(x % (THREADS - 1))) % THREADS;
    check_and_free(xchg(&slots[other][(x >> 7) % SLOTS], p), &sum);
  }
  sums[t] = sum;
  return 0;
}

int main(void) {
#ifdef _WIN32
  HANDLE th[THREADS];
  for (int t = 0; t < THREADS; t++) th[t] = CreateThread(NULL, 0, worker, (LPVOID)(intptr_t)t, 0, NULL);
  WaitForMultipleObjects(THREADS, th, TRUE, INFINITE);
#else
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void*)(intptr_t)t);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
#endif
  uint64_t sum = 0, left = 0;
  for (int t = 0; t < THREADS; t++) {
    sum += sums[t];
    for (int s = 0; s < SLOTS; s++) check_and_free(slots[t][s], &left);
  }
  void* a = NULL;
#ifdef _WIN32
  a = _aligned_malloc(1000, 4096);
  int aligned = ((uintptr_t)a % 4096) == 0;
  _aligned_free(a);
#else
  int aligned = posix_memalign(&a, 4096, 1000) == 0 && ((uintptr_t)a % 4096) == 0;
  free(a);
#endif
#if defined(_WIN32) && defined(METEOR_ALLOC_DLL)
  /* the rest of the CRT allocation family, as exported by meteor_alloc.dll */
  unsigned char* r = _recalloc(NULL, 10, 10);
  for (int i = 0; i < 100; i++) if (!r || r[i] != 0) aligned = 0;
  memset(r, 7, 100);
  r = _recalloc(r, 30, 10);
  for (int i = 0; i < 300; i++) if (!r || r[i] != (i < 100 ? 7 : 0)) aligned = 0;
  if (_expand(r, 200) != r || _msize(r) < 300) aligned = 0;
  void* ar = _aligned_malloc(100, 256);
  ar = _aligned_realloc(ar, 100000, 256);
  if (!ar || ((uintptr_t)ar % 256) != 0) aligned = 0;
  _aligned_free(ar);
  if (realloc(r, 0) != NULL) aligned = 0; /* frees, like the CRT */
#endif
  printf("threads=%d ops=%d aligned=%d total=%llu\n", THREADS, OPS, aligned,
         (unsigned long long)(sum + left));
#ifdef MT_CHECKS
  printf("init_mode=%d thread_exits=%ld version=%d\n", mt_init_mode(), mt_thread_done_count(), mt_version());
  if (mt_thread_done_count() < THREADS) { printf("thread exit notifications missing\n"); return 4; }
#endif
  return aligned ? 0 : 5;
}
