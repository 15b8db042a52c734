/* Loads meteor_alloc.dll at run time (LoadLibrary), with one thread started before the
 * load and one after; both allocate through the DLL and free each other's blocks. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

typedef void* (*malloc_fn)(size_t);
typedef void (*free_fn)(void*);
typedef int (*int_fn)(void);
typedef long (*long_fn)(void);

static malloc_fn p_malloc;
static free_fn p_free;
static HANDLE loaded;
static void* volatile box[2][128];

static DWORD WINAPI worker(LPVOID arg) {
  int t = (int)(intptr_t)arg;
  WaitForSingleObject(loaded, INFINITE);
  unsigned x = 99u + t;
  for (int i = 0; i < 50000; i++) {
    x = x * 1103515245u + 12345u;
    size_t n = (x >> 8) % 700 + 1;
    unsigned char* p = p_malloc(n);
    if (!p) { printf("alloc failed\n"); ExitProcess(2); }
    memset(p, t + 1, n);
    void* old = InterlockedExchangePointer((PVOID volatile*)&box[1 - t][(x >> 3) % 128], p);
    if (old) p_free(old); /* blocks the other thread allocated */
  }
  return 0;
}

int main(void) {
  loaded = CreateEventA(NULL, TRUE, FALSE, NULL);
  HANDLE before = CreateThread(NULL, 0, worker, (LPVOID)0, 0, NULL); /* exists before the load */
  Sleep(20);
  HMODULE dll = LoadLibraryA("meteor_alloc.dll");
  if (!dll) { printf("LoadLibrary failed: %lu\n", GetLastError()); return 3; }
  p_malloc = (malloc_fn)GetProcAddress(dll, "mt_malloc");
  p_free = (free_fn)GetProcAddress(dll, "mt_free");
  int_fn init_mode = (int_fn)GetProcAddress(dll, "mt_init_mode");
  long_fn done = (long_fn)GetProcAddress(dll, "mt_thread_done_count");
  if (!p_malloc || !p_free || !init_mode || !done) { printf("missing export\n"); return 4; }
  SetEvent(loaded);
  HANDLE after = CreateThread(NULL, 0, worker, (LPVOID)1, 0, NULL); /* starts after the load */
  WaitForSingleObject(before, INFINITE);
  WaitForSingleObject(after, INFINITE);
  for (int t = 0; t < 2; t++) for (int s = 0; s < 128; s++) p_free(box[t][s]);
  printf("loadlib init_mode=%d thread_exits=%ld\n", init_mode(), done());
  int ok = init_mode() == 4 && done() >= 2;
  puts(ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
