/* msrd-shm: see msrd-shm.h. */
#define _GNU_SOURCE
#include "msrd-shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int m6e_msrd_shm_create(m6e_msrd_shm *s, const char *name,
                        m6ike_msrd_role role, uint32_t max_entries,
                        const m6ike_msrd_config *cfg) {
  m6ike_msrd_config c;
  int fd, rv;
  memset(s, 0, sizeof(*s));
  s->size = m6ike_msrd_region_size(role, max_entries);
  if (!s->size || strlen(name) >= sizeof(s->name)) {
    return -EINVAL;
  }
  snprintf(s->name, sizeof(s->name), "%s", name);
  fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    return -errno;
  }
  if (ftruncate(fd, (off_t)s->size) != 0) {
    rv = -errno;
    close(fd);
    shm_unlink(name);
    return rv;
  }
  s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (s->base == MAP_FAILED) {
    rv = -errno;
    shm_unlink(name);
    return rv;
  }
  s->writer = 1;
  if (cfg) {
    c = *cfg;
  } else {
    m6ike_msrd_config_default(&c, role);
  }
  c.role = role;
  c.max_entries = max_entries;
  rv = m6ike_msrd_new_in(s->base, s->size, &s->db, &s->w, &c, NULL);
  if (rv != 0) {
    m6e_msrd_shm_close(s);
  }
  return rv;
}

int m6e_msrd_shm_attach(m6e_msrd_shm *s, const char *name) {
  struct stat st;
  int fd, rv;
  memset(s, 0, sizeof(*s));
  if (strlen(name) >= sizeof(s->name)) {
    return -EINVAL;
  }
  snprintf(s->name, sizeof(s->name), "%s", name);
  fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  if (fstat(fd, &st) != 0) {
    rv = -errno;
    close(fd);
    return rv;
  }
  s->size = (size_t)st.st_size;
  s->base = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (s->base == MAP_FAILED) {
    s->base = NULL;
    return -errno;
  }
  rv = m6ike_msrd_attach_reader(s->base, s->size, &s->db, &s->r, NULL);
  if (rv != 0) {
    m6e_msrd_shm_close(s);
  }
  return rv;
}

void m6e_msrd_shm_close(m6e_msrd_shm *s) {
  if (s->db) {
    m6ike_msrd_del(s->db);
    s->db = NULL;
  }
  if (s->base) {
    munmap(s->base, s->size);
    s->base = NULL;
  }
  if (s->writer) {
    shm_unlink(s->name);
    s->writer = 0;
  }
  if (s->has_lock) {
    close(s->lock_fd);
    s->has_lock = 0;
  }
}

/* NAME exists: if no live writer holds its lock (the writer crashed and
 * left it, like a stale pid file), remove it and return 1; 0 if it is in
 * use (or cannot be checked). */
static int remove_if_stale(const char *name) {
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  int stale;
  if (fd < 0) {
    return errno == ENOENT; /* gone meanwhile: free to create */
  }
  stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (stale) {
    shm_unlink(name);
  }
  close(fd);
  return stale;
}

int m6e_shm_region_create(m6e_msrd_shm *s, const char *name, size_t size) {
  int fd, rv;
  memset(s, 0, sizeof(*s));
  if (!size || strlen(name) >= sizeof(s->name)) {
    return -EINVAL;
  }
  snprintf(s->name, sizeof(s->name), "%s", name);
  fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST && remove_if_stale(name)) {
    s->stale_removed = 1;
    fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  }
  if (fd < 0) {
    return -errno;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || ftruncate(fd, (off_t)size) != 0) {
    rv = -errno;
    close(fd);
    shm_unlink(name);
    return rv;
  }
  s->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (s->base == MAP_FAILED) {
    rv = -errno;
    s->base = NULL;
    close(fd);
    shm_unlink(name);
    return rv;
  }
  s->lock_fd = fd;
  s->has_lock = 1;
  s->size = size;
  s->writer = 1;
  return 0;
}

int m6e_msrd_shm_try_write(const m6e_msrd_shm *s, FILE *report) {
  int fd, refused = 0, st;
  void *m;
  pid_t pid;
  if (mprotect(s->base, s->size, PROT_READ | PROT_WRITE) != 0) {
    fprintf(report, "REFUSED mprotect: %s\n", strerror(errno));
    refused++;
  } else {
    fprintf(report, "ALLOWED mprotect\n");
    mprotect(s->base, s->size, PROT_READ);
  }
  fd = shm_open(s->name, O_RDONLY | O_CLOEXEC, 0);
  m = fd >= 0 ? mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
              : MAP_FAILED;
  if (m == MAP_FAILED) {
    fprintf(report, "REFUSED mmap-write: %s\n", strerror(errno));
    refused++;
  } else {
    fprintf(report, "ALLOWED mmap-write\n");
    munmap(m, s->size);
  }
  if (fd >= 0) {
    close(fd);
  }
  fflush(report);
  pid = fork();
  if (pid == 0) {
    /* no sanitizer or other handler may turn the fault into an exit 0 */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    ((volatile unsigned char *)s->base)[s->size / 2] ^= 1;
    _exit(0);
  }
  /* The child exits 0 only if its store went through. */
  if (pid > 0 && waitpid(pid, &st, 0) == pid &&
      !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    fprintf(report, "REFUSED store: %s\n",
            WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "fault");
    refused++;
  } else {
    fprintf(report, "ALLOWED store\n");
  }
  fflush(report);
  return refused;
}
