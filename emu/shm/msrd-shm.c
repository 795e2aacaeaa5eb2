/* msrd-shm: see msrd-shm.h. */
#define _GNU_SOURCE
#include "msrd-shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
}
