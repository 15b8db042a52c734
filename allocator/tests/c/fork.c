/* fork() while another thread allocates: the child keeps using the parent's heap state
 * (frees the parent's blocks, allocates, starts its own threads). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void* churn(void* arg) {
  (void)arg;
  unsigned x = 1;
  while (!stop) {
    x = x * 1103515245u + 12345u;
    void* p = malloc((x >> 8) % 4096 + 1);
    free(p);
  }
  return NULL;
}

static void* child_thread(void* arg) {
  void** blocks = arg;
  for (int i = 0; i < 1000; i++) free(blocks[i]); /* cross-thread frees */
  return NULL;
}

int main(void) {
  void* mine[200];
  for (int i = 0; i < 200; i++) { mine[i] = malloc(i * 37 + 1); memset(mine[i], i, i * 37 + 1); }
  pthread_t bg;
  pthread_create(&bg, NULL, churn, NULL);
  int ok = 0;
  for (int k = 0; k < 4; k++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
      for (int i = 0; i < 200; i += 2) {
        unsigned char* b = mine[i];
        if (b[i * 37] != (unsigned char)i) _exit(3);
        free(mine[i]);
      }
      void** blocks = malloc(1000 * sizeof(void*));
      for (int i = 0; i < 1000; i++) blocks[i] = malloc(i % 500 + 1);
      pthread_t t;
      pthread_create(&t, NULL, child_thread, blocks);
      pthread_join(t, NULL);
      free(blocks);
      char* s = strdup("child");
      int good = strcmp(s, "child") == 0;
      free(s);
      _exit(good ? 0 : 4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
    else printf("child %d failed: status %d\n", k, status);
  }
  stop = 1;
  pthread_join(bg, NULL);
  for (int i = 0; i < 200; i++) free(mine[i]);
  printf("fork children ok: %d of 4\n", ok);
  return ok == 4 ? 0 : 1;
}
