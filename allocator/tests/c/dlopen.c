/* dlopen()s libmeteor_alloc.so into a running process: one thread started before the
 * load, one after; both allocate through mt_malloc and free each other's blocks. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void* (*malloc_fn)(size_t);
typedef void (*free_fn)(void*);
typedef int (*int_fn)(void);
typedef long (*long_fn)(void);

static malloc_fn p_malloc;
static free_fn p_free;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int loaded;
static void* box[2][128];

static void* worker(void* arg) {
  int t = (int)(intptr_t)arg;
  pthread_mutex_lock(&lock);
  while (!loaded) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  unsigned x = 7u + t;
  for (int i = 0; i < 50000; i++) {
    x = x * 1103515245u + 12345u;
    size_t n = (x >> 8) % 900 + 1;
    unsigned char* p = p_malloc(n);
    if (!p) { printf("alloc failed\n"); return (void*)1; }
    memset(p, t + 1, n);
    void* old = __atomic_exchange_n(&box[1 - t][(x >> 3) % 128], p, __ATOMIC_ACQ_REL);
    if (old) p_free(old);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: dlopen path/to/libmeteor_alloc.so\n"); return 2; }
  pthread_t before, after;
  pthread_create(&before, NULL, worker, (void*)0); /* exists before the load */
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) { printf("dlopen failed: %s\n", dlerror()); return 3; }
  p_malloc = (malloc_fn)dlsym(lib, "mt_malloc");
  p_free = (free_fn)dlsym(lib, "mt_free");
  long_fn done = (long_fn)dlsym(lib, "mt_thread_done_count");
  int_fn mode = (int_fn)dlsym(lib, "mt_init_mode");
  if (!p_malloc || !p_free || !done || !mode) { printf("missing symbol\n"); return 4; }
  pthread_mutex_lock(&lock);
  loaded = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  pthread_create(&after, NULL, worker, (void*)1); /* starts after the load */
  void* r1; void* r2;
  pthread_join(before, &r1);
  pthread_join(after, &r2);
  for (int t = 0; t < 2; t++) for (int s = 0; s < 128; s++) p_free(box[t][s]);
  printf("dlopen init_mode=%d thread_exits=%ld\n", mode(), done());
  int ok = r1 == NULL && r2 == NULL && mode() == 2 && done() >= 2;
  puts(ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
