/* Allocator benchmark workloads for `cargo xtask bench alloc`.
 *
 * usage: workloads <name> <threads> [scale]
 *   larson   server simulation: per-thread slot arrays of random-sized blocks, replaced at
 *            random; each thread's slots are handed to a fresh thread every round, so the
 *            blocks a thread allocated are freed by its successor
 *   xmalloc  producer/consumer: threads allocate batches and pass them through a shared
 *            queue; batches are freed by whichever thread takes them (cross-thread frees)
 *   cscratch cache-scratch: each thread frees an object the main thread allocated, then
 *            allocates, writes and frees small objects in a tight loop (false sharing)
 *   small    single-thread style small alloc/free loop (16..128 bytes), per thread
 *   churn    mixed-size churn: 8 B..256 KiB log-uniform sizes, random replacement, reallocs
 *
 * The program uses plain malloc/free; the allocator under test is chosen by LD_PRELOAD.
 * It prints one line: `<name> threads=<n> ops=<count> seconds=<s> ops_per_sec=<x>
 * cpu_seconds=<user+sys> peak_rss_kib=<k> checksum=<c>`; the checksum must not depend on
 * the allocator.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline uint64_t rnd(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

static int nthreads;
static long scale = 1;
static uint64_t checksums[64];

/* ---------------- larson ---------------- */
#define LARSON_SLOTS 1000
#define LARSON_ROUNDS 20
typedef struct { void* slots[LARSON_SLOTS]; uint64_t seed; long ops; int id; uint64_t sum; } larson_t;

static void* larson_round(void* arg) {
  larson_t* l = arg;
  long n = 750000 * scale;
  for (long i = 0; i < n; i++) {
    uint64_t r = rnd(&l->seed);
    int s = r % LARSON_SLOTS;
    free(l->slots[s]);
    size_t sz = 8 + (r >> 16) % 1000;
    char* p = malloc(sz);
    p[0] = (char)sz; p[sz - 1] = (char)i;
    l->sum += sz;
    l->slots[s] = p;
  }
  l->ops += n;
  return NULL;
}

static long larson(void) {
  larson_t* ls = calloc(nthreads, sizeof(larson_t));
  for (int t = 0; t < nthreads; t++) {
    ls[t].seed = 88172645463325252ull + t; ls[t].id = t;
    for (int s = 0; s < LARSON_SLOTS; s++) { size_t sz = 8 + rnd(&ls[t].seed) % 1000; ls[t].slots[s] = malloc(sz); memset(ls[t].slots[s], 1, sz); }
  }
  for (int round = 0; round < LARSON_ROUNDS; round++) {
    pthread_t th[64];
    for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, larson_round, &ls[t]);
    for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  }
  long ops = 0;
  for (int t = 0; t < nthreads; t++) {
    ops += ls[t].ops; checksums[t] = ls[t].sum;
    for (int s = 0; s < LARSON_SLOTS; s++) free(ls[t].slots[s]);
  }
  free(ls);
  return ops;
}

/* ---------------- xmalloc ---------------- */
#define BATCH 64
typedef struct batch { struct batch* next; void* p[BATCH]; } batch_t;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static batch_t* q_head;
static int q_len;

static void* xmalloc_worker(void* arg) {
  int t = (int)(intptr_t)arg;
  uint64_t seed = 0x9E3779B97F4A7C15ull * (t + 1);
  long rounds = 320000 * scale;
  uint64_t sum = 0;
  for (long r = 0; r < rounds; r++) {
    batch_t* b = malloc(sizeof(batch_t));
    for (int i = 0; i < BATCH; i++) {
      size_t sz = 8 + rnd(&seed) % 504;
      b->p[i] = malloc(sz);
      ((char*)b->p[i])[0] = (char)i;
      sum += sz;
    }
    pthread_mutex_lock(&q_lock);
    b->next = q_head; q_head = b; q_len++;
    batch_t* take = NULL;
    if (q_len > nthreads) { take = q_head->next ? q_head->next : q_head; if (take == q_head) q_head = take->next; else q_head->next = take->next; q_len--; }
    pthread_mutex_unlock(&q_lock);
    if (take) {
      for (int i = 0; i < BATCH; i++) free(take->p[i]);
      free(take);
    }
  }
  checksums[t] = sum;
  return (void*)(intptr_t)(rounds * BATCH * 2);
}

static long xmalloc_bench(void) {
  pthread_t th[64];
  for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, xmalloc_worker, (void*)(intptr_t)t);
  long ops = 0;
  for (int t = 0; t < nthreads; t++) { void* r; pthread_join(th[t], &r); ops += (long)(intptr_t)r; }
  while (q_head) { batch_t* b = q_head; q_head = b->next; for (int i = 0; i < BATCH; i++) free(b->p[i]); free(b); }
  return ops;
}

/* ---------------- cache-scratch ---------------- */
static void* cscratch_objs[64];

static void* cscratch_worker(void* arg) {
  int t = (int)(intptr_t)arg;
  free(cscratch_objs[t]);
  long iters = 12000000 * scale;
  uint64_t sum = 0;
  for (long i = 0; i < iters; i++) {
    volatile char* p = malloc(8);
    for (int k = 0; k < 40; k++) { p[k & 7] = (char)k; }
    sum += p[3];
    free((void*)p);
  }
  checksums[t] = sum;
  return (void*)(intptr_t)(iters * 2);
}

static long cscratch(void) {
  for (int t = 0; t < nthreads; t++) cscratch_objs[t] = malloc(8);
  pthread_t th[64];
  for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, cscratch_worker, (void*)(intptr_t)t);
  long ops = 0;
  for (int t = 0; t < nthreads; t++) { void* r; pthread_join(th[t], &r); ops += (long)(intptr_t)r; }
  return ops;
}

/* ---------------- small ---------------- */
static void* small_worker(void* arg) {
  int t = (int)(intptr_t)arg;
  void* keep[256] = {0};
  uint64_t seed = 12345 + t;
  long iters = 30000000 * scale;
  uint64_t sum = 0;
  for (long i = 0; i < iters; i++) {
    size_t sz = 16 + (i & 7) * 16;
    char* p = malloc(sz);
    p[0] = 1;
    sum += sz;
    int s = rnd(&seed) & 255;
    free(keep[s]);
    keep[s] = p;
  }
  for (int s = 0; s < 256; s++) free(keep[s]);
  checksums[t] = sum;
  return (void*)(intptr_t)(iters * 2);
}

static long small_bench(void) {
  pthread_t th[64];
  for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, small_worker, (void*)(intptr_t)t);
  long ops = 0;
  for (int t = 0; t < nthreads; t++) { void* r; pthread_join(th[t], &r); ops += (long)(intptr_t)r; }
  return ops;
}

/* ---------------- churn ---------------- */
#define CHURN_SLOTS 4000
static void* churn_worker(void* arg) {
  int t = (int)(intptr_t)arg;
  void** slots = calloc(CHURN_SLOTS, sizeof(void*));
  size_t* sizes = calloc(CHURN_SLOTS, sizeof(size_t));
  uint64_t seed = 0xC0FFEE + t * 7777;
  long iters = 600000 * scale;
  uint64_t sum = 0;
  for (long i = 0; i < iters; i++) {
    uint64_t r = rnd(&seed);
    int s = r % CHURN_SLOTS;
    int bits = 3 + (r >> 20) % 16;            /* 8 B .. 256 KiB, log-uniform */
    size_t sz = ((size_t)1 << bits) + ((r >> 40) & (((size_t)1 << bits) - 1));
    if (slots[s] && (r >> 60) == 0) {
      char* q = realloc(slots[s], sz);
      q[sz - 1] = 2; slots[s] = q; sizes[s] = sz;
    } else {
      free(slots[s]);
      char* p = malloc(sz);
      memset(p, 3, sz < 256 ? sz : 256);
      p[sz - 1] = 1;
      slots[s] = p; sizes[s] = sz;
    }
    sum += sz;
  }
  for (int s = 0; s < CHURN_SLOTS; s++) free(slots[s]);
  free(slots); free(sizes);
  checksums[t] = sum;
  return (void*)(intptr_t)(iters * 2);
}

static long churn(void) {
  pthread_t th[64];
  for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, churn_worker, (void*)(intptr_t)t);
  long ops = 0;
  for (int t = 0; t < nthreads; t++) { void* r; pthread_join(th[t], &r); ops += (long)(intptr_t)r; }
  return ops;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s larson|xmalloc|cscratch|small|churn <threads> [scale]\n", argv[0]);
    return 2;
  }
  nthreads = atoi(argv[2]);
  if (nthreads < 1 || nthreads > 64) { fprintf(stderr, "threads must be 1..64\n"); return 2; }
  if (argc > 3) scale = atol(argv[3]);
  if (scale < 1) scale = 1;
  const char* name = argv[1];
  long (*fn)(void) = NULL;
  if (!strcmp(name, "larson")) fn = larson;
  else if (!strcmp(name, "xmalloc")) fn = xmalloc_bench;
  else if (!strcmp(name, "cscratch")) fn = cscratch;
  else if (!strcmp(name, "small")) fn = small_bench;
  else if (!strcmp(name, "churn")) fn = churn;
  else { fprintf(stderr, "unknown workload %s\n", name); return 2; }
  double t0 = now();
  long ops = fn();
  double dt = now() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t sum = 0;
  for (int t = 0; t < nthreads; t++) sum += checksums[t];
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
  printf("%s threads=%d ops=%ld seconds=%.4f ops_per_sec=%.0f cpu_seconds=%.4f peak_rss_kib=%ld checksum=%llu\n", name,
         nthreads, ops, dt, ops / dt, cpu, ru.ru_maxrss, (unsigned long long)sum);
  return 0;
}
