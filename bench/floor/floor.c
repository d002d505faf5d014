/*
 * Contender (c) of the lifecycle benchmark (bench/README.md, issue 7): the raw-syscall floor. Only mkdir, open,
 * write, close and rmdir in the timed loop, one value per write(2) (the kernel parses each write as one value),
 * and exactly the files and values the engine writes: the harness hands over the engine's own plan as a spec file
 * (KataCgroups.Bench plan), so a host with more hypervisor devices or other hierarchies changes both alike.
 *
 * Spec lines (written by bench/Invoke-Bench.ps1):
 *   H <mount> <0|1>        a hierarchy, in the engine's creation order; 1 = it holds cpuset
 *   C <h> <file> <value>   a create write into hierarchy <h> (value = the rest of the line)
 *   U <h> <file> <value>   an update write
 *
 * Usage:
 *   floor setup    <spec> <root>               make <root> in every hierarchy (cpuset: copy cpus/mems from the mount)
 *   floor run      <spec> <root> <N> <pid>     the workload; prints "KCBENCH {json}"
 *   floor populate <spec> <root> <N>           mkdir <root>/kata_g<i> in every hierarchy (for the Get-KataCgroup scan)
 *   floor depopulate <spec> <root> <N>         rmdir them again
 *   floor teardown <spec> <root>               rmdir <root> in every hierarchy
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXH 32
#define MAXW 128
#define PATHMAX 4096

struct write { int h; char file[128]; char value[128]; size_t len; };

static char mounts[MAXH][PATHMAX];
static int cpuset_of[MAXH];
static int nh;
static struct write creates[MAXW], updates[MAXW];
static int ncreate, nupdate;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "floor: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void load_spec(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) die("open", file);
    char line[PATHMAX + 64];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == 'H' && nh < MAXH) {
            char *mount = line + 2, *flag = strrchr(mount, ' ');
            if (!flag) continue;
            *flag++ = 0;
            snprintf(mounts[nh], PATHMAX, "%s", mount);
            cpuset_of[nh++] = atoi(flag);
        } else if ((line[0] == 'C' || line[0] == 'U')) {
            struct write *w = line[0] == 'C' ? &creates[ncreate++] : &updates[nupdate++];
            int off = 0;
            if (sscanf(line + 2, "%d %127s %n", &w->h, w->file, &off) < 2) { fprintf(stderr, "floor: bad spec line %s\n", line); exit(1); }
            snprintf(w->value, sizeof w->value, "%s", line + 2 + off);
            w->len = strlen(w->value);
        }
    }
    fclose(f);
}

/* One value, one write(2); the whole value or an error. */
static void put(const char *path, const char *value, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    if (write(fd, value, len) != (ssize_t)len) die("write", path);
    close(fd);
}

/* Only for setup and for the values the loop needs once: cpuset.cpus/mems of the bench root. */
static void get(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    ssize_t n = read(fd, buf, size - 1);
    if (n < 0) die("read", path);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* KCBENCH_CHECK: after the warm-up update, dump the files of KCBENCH_CHECK_LIST as "path: content" (the harness
 * compares every contender's dump). Outside the timed loop. */
static void dump_check(void)
{
    const char *out = getenv("KCBENCH_CHECK"), *list = getenv("KCBENCH_CHECK_LIST");
    if (!out || !list) return;
    FILE *l = fopen(list, "r"), *o = fopen(out, "w");
    if (!l || !o) die("open", out);
    char line[PATHMAX], buf[65536];
    while (fgets(line, sizeof line, l)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open", line);
        ssize_t n, total = 0;
        while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += n;
        close(fd);
        while (total > 0 && buf[total - 1] == '\n') total--;
        buf[total] = 0;
        fprintf(o, "%s: %s\n", line, buf);
    }
    fclose(l);
    fclose(o);
}

static char cpus[256], mems[256], pidtext[32];
static size_t pidlen;

static void cycle(const char *root, const char *name)
{
    char dir[MAXH][PATHMAX], path[PATHMAX];
    for (int h = 0; h < nh; h++) {
        snprintf(dir[h], PATHMAX, "%s%s/%s", mounts[h], root, name);
        if (mkdir(dir[h], 0755) < 0) die("mkdir", dir[h]);
        if (cpuset_of[h]) {
            /* A new v1 cpuset refuses tasks until cpus and mems are set; the engine copies the parent's. */
            snprintf(path, PATHMAX, "%s/cpuset.cpus", dir[h]); put(path, cpus, strlen(cpus));
            snprintf(path, PATHMAX, "%s/cpuset.mems", dir[h]); put(path, mems, strlen(mems));
        }
    }
    for (int i = 0; i < ncreate; i++) {
        snprintf(path, PATHMAX, "%s/%s", dir[creates[i].h], creates[i].file);
        put(path, creates[i].value, creates[i].len);
    }
    for (int h = 0; h < nh; h++) {
        snprintf(path, PATHMAX, "%s/cgroup.procs", dir[h]);
        put(path, pidtext, pidlen);
    }
    for (int i = 0; i < nupdate; i++) {
        snprintf(path, PATHMAX, "%s/%s", dir[updates[i].h], updates[i].file);
        put(path, updates[i].value, updates[i].len);
    }
    if (!strcmp(name, "kata_warm")) dump_check();
    for (int h = 0; h < nh; h++) {
        snprintf(path, PATHMAX, "%s%s/cgroup.procs", mounts[h], root);
        put(path, pidtext, pidlen);
    }
    for (int h = 0; h < nh; h++)
        if (rmdir(dir[h]) < 0) die("rmdir", dir[h]);
}

int main(int argc, char **argv)
{
    double started = now_ms();
    if (argc < 4) { fprintf(stderr, "usage: floor setup|run|populate|depopulate|teardown <spec> <root> [N] [pid]\n"); return 2; }
    const char *cmd = argv[1], *root = argv[3];
    char path[PATHMAX], name[64];
    load_spec(argv[2]);

    if (!strcmp(cmd, "setup")) {
        for (int h = 0; h < nh; h++) {
            snprintf(path, PATHMAX, "%s%s", mounts[h], root);
            if (mkdir(path, 0755) < 0) die("mkdir", path);
            if (cpuset_of[h]) {
                char v[256];
                snprintf(path, PATHMAX, "%s/cpuset.cpus", mounts[h]); get(path, v, sizeof v);
                snprintf(path, PATHMAX, "%s%s/cpuset.cpus", mounts[h], root); put(path, v, strlen(v));
                snprintf(path, PATHMAX, "%s/cpuset.mems", mounts[h]); get(path, v, sizeof v);
                snprintf(path, PATHMAX, "%s%s/cpuset.mems", mounts[h], root); put(path, v, strlen(v));
            }
        }
        return 0;
    }
    if (!strcmp(cmd, "teardown")) {
        int failed = 0;
        for (int h = 0; h < nh; h++) {
            snprintf(path, PATHMAX, "%s%s", mounts[h], root);
            if (rmdir(path) < 0 && errno != ENOENT) { fprintf(stderr, "floor: rmdir %s: %s\n", path, strerror(errno)); failed = 1; }
        }
        return failed;
    }
    if (argc < 5) { fprintf(stderr, "floor %s: N missing\n", cmd); return 2; }
    int n = atoi(argv[4]);
    if (!strcmp(cmd, "populate") || !strcmp(cmd, "depopulate")) {
        int make = !strcmp(cmd, "populate"), failed = 0;
        for (int i = 0; i < n; i++)
            for (int h = 0; h < nh; h++) {
                snprintf(path, PATHMAX, "%s%s/kata_g%d", mounts[h], root, i);
                if (make ? mkdir(path, 0755) < 0 : (rmdir(path) < 0 && errno != ENOENT)) {
                    if (make) die("mkdir", path);
                    fprintf(stderr, "floor: rmdir %s: %s\n", path, strerror(errno)); failed = 1;
                }
            }
        return failed;
    }
    if (strcmp(cmd, "run") || argc < 6) { fprintf(stderr, "floor: unknown command %s\n", cmd); return 2; }

    pidlen = (size_t)snprintf(pidtext, sizeof pidtext, "%d", atoi(argv[5]));
    for (int h = 0; h < nh; h++)
        if (cpuset_of[h]) {
            snprintf(path, PATHMAX, "%s%s/cpuset.cpus", mounts[h], root); get(path, cpus, sizeof cpus);
            snprintf(path, PATHMAX, "%s%s/cpuset.mems", mounts[h], root); get(path, mems, sizeof mems);
        }
    cycle(root, "kata_warm");   /* one untimed cycle, like every contender */
    double start = now_ms();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "kata_c%d", i);
        cycle(root, name);
    }
    double loop = now_ms() - start;
    printf("KCBENCH {\"n\":%d,\"loopMs\":%.3f,\"perCgroupMs\":%.4f,\"setupMs\":%.3f}\n", n, loop, loop / n, start - started);
    return 0;
}
