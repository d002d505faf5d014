/*
 * Contender (c) of the lifecycle benchmark (bench/README.md): the raw-syscall floor. Only mkdir, open,
 * write, close and rmdir in the timed loop, one value per write(2) (the kernel parses each write as one value),
 * and exactly the files and values the engine writes: the harness hands over the engine's own plan as a spec file
 * (KataCgroups.Bench plan), so a host with more hypervisor devices or other hierarchies changes both alike.
 *
 * Spec lines (written by bench/Invoke-Bench.ps1):
 *   H <mount> <0|1>        a hierarchy, in the engine's creation order; 1 = it holds cpuset
 *   C <h> <file> <value>   a create write into hierarchy <h> (value = the rest of the line)
 *   U <h> <file> <value>   an update write
 *   R <h> <file>           scan: a file Get-KataCgroup reads of every cgroup in hierarchy <h>
 *   S <h>                  scan: a hierarchy Get-KataCgroup reads nothing from, only stats the directory
 *
 * Usage:
 *   floor setup    <spec> <root>               make <root> in every hierarchy (cpuset: copy cpus/mems from the mount)
 *   floor run      <spec> <root> <N> <pid>     the workload; prints "KCBENCH {json}" (FLOOR_AT=1: relative to the mounts)
 *   floor populate <spec> <root> <N>           mkdir <root>/kata_g<i> in every hierarchy (for the Get-KataCgroup scan)
 *   floor depopulate <spec> <root> <N>         rmdir them again
 *   floor teardown <spec> <root>               rmdir <root> in every hierarchy
 *   floor scan     <spec> <root> <N>           the Get-KataCgroup floor: read the R files and stat the S directories
 *                                              of <root>/kata_g<i>, i < N, on one thread per CPU (as the cmdlet reads
 *                                              on every CPU); one warm pass, then prints "KCBENCH {json}" with the
 *                                              median of three timed passes (FLOOR_AT=1: relative to the mounts)
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
#include <pthread.h>

#define MAXH 32
#define MAXW 128
#define PATHMAX 4096

struct write { int h; char file[128]; char value[128]; size_t len; };

static char mounts[MAXH][PATHMAX];
static int cpuset_of[MAXH];
static int nh;
static struct write creates[MAXW], updates[MAXW];
static int ncreate, nupdate;
struct scanfile { int h; char file[128]; };
static struct scanfile scanreads[MAXW];
static int nscanread, scanstat[MAXH], nscanstat;

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
        } else if (line[0] == 'R' && nscanread < MAXW) {
            if (sscanf(line + 2, "%d %127s", &scanreads[nscanread].h, scanreads[nscanread].file) == 2) nscanread++;
        } else if (line[0] == 'S' && nscanstat < MAXH) {
            scanstat[nscanstat++] = atoi(line + 2);
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
/* FLOOR_AT=1 (contender FloorAt): every path is opened, made and removed relative to its hierarchy's mount, held
 * open as an O_PATH directory, as the engine does (a shorter path walk than from "/"); otherwise from "/", as a
 * plain C program would. The paths are built the same way in both; at() picks the part below the mount. */
static int use_at, mount_fd[MAXH];
static size_t mount_len[MAXH];

static void open_mounts(void)
{
    use_at = getenv("FLOOR_AT") && !strcmp(getenv("FLOOR_AT"), "1");
    for (int h = 0; use_at && h < nh; h++) {
        mount_fd[h] = open(mounts[h], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mount_fd[h] < 0) die("open", mounts[h]);
        mount_len[h] = strlen(mounts[h]);
    }
}

static const char *at(int h, const char *path, int *dirfd)
{
    if (!use_at || h < 0) { *dirfd = AT_FDCWD; return path; }
    *dirfd = mount_fd[h];
    return path + mount_len[h] + 1;
}

static void put_in(int h, const char *path, const char *value, size_t len)
{
    int dirfd;
    const char *p = at(h, path, &dirfd);
    int fd = openat(dirfd, p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    if (write(fd, value, len) != (ssize_t)len) die("write", path);
    close(fd);
}

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
    int dirfd;
    for (int h = 0; h < nh; h++) {
        snprintf(dir[h], PATHMAX, "%s%s/%s", mounts[h], root, name);
        const char *d = at(h, dir[h], &dirfd);
        if (mkdirat(dirfd, d, 0755) < 0) die("mkdir", dir[h]);
        if (cpuset_of[h]) {
            /* A new v1 cpuset refuses tasks until cpus and mems are set; the engine copies the parent's. */
            snprintf(path, PATHMAX, "%s/cpuset.cpus", dir[h]); put_in(h, path, cpus, strlen(cpus));
            snprintf(path, PATHMAX, "%s/cpuset.mems", dir[h]); put_in(h, path, mems, strlen(mems));
        }
    }
    for (int i = 0; i < ncreate; i++) {
        snprintf(path, PATHMAX, "%s/%s", dir[creates[i].h], creates[i].file);
        put_in(creates[i].h, path, creates[i].value, creates[i].len);
    }
    for (int h = 0; h < nh; h++) {
        snprintf(path, PATHMAX, "%s/cgroup.procs", dir[h]);
        put_in(h, path, pidtext, pidlen);
    }
    for (int i = 0; i < nupdate; i++) {
        snprintf(path, PATHMAX, "%s/%s", dir[updates[i].h], updates[i].file);
        put_in(updates[i].h, path, updates[i].value, updates[i].len);
    }
    if (!strcmp(name, "kata_warm")) dump_check();
    for (int h = 0; h < nh; h++) {
        snprintf(path, PATHMAX, "%s%s/cgroup.procs", mounts[h], root);
        put_in(h, path, pidtext, pidlen);
    }
    for (int h = 0; h < nh; h++) {
        const char *d = at(h, dir[h], &dirfd);
        if (unlinkat(dirfd, d, AT_REMOVEDIR) < 0) die("rmdir", dir[h]);
    }
}

/* One scan thread: cgroups first, first + step, … of the N; each file opened, read whole, closed. */
struct scanjob { const char *root; int first, step, n; long failures; };

static void *scan_thread(void *arg)
{
    struct scanjob *job = arg;
    char path[PATHMAX], buf[4096];
    struct stat st;
    for (int i = job->first; i < job->n; i += job->step) {
        for (int r = 0; r < nscanread; r++) {
            snprintf(path, PATHMAX, "%s%s/kata_g%d/%s", mounts[scanreads[r].h], job->root, i, scanreads[r].file);
            int dirfd;
            const char *p = at(scanreads[r].h, path, &dirfd);
            int fd = openat(dirfd, p, O_RDONLY | O_CLOEXEC);
            if (fd < 0) { job->failures++; continue; }
            ssize_t got;
            while ((got = read(fd, buf, sizeof buf)) == (ssize_t)sizeof buf) { }
            if (got < 0) job->failures++;
            close(fd);
        }
        for (int s = 0; s < nscanstat; s++) {
            snprintf(path, PATHMAX, "%s%s/kata_g%d", mounts[scanstat[s]], job->root, i);
            int dirfd;
            const char *p = at(scanstat[s], path, &dirfd);
            if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) job->failures++;
        }
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int scan(const char *root, int n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    pthread_t tid[64];
    struct scanjob jobs[64];
    double times[4];
    long failures = 0;
    for (int pass = 0; pass < 4; pass++) {
        double start = now_ms();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (struct scanjob){ root, t, threads, n, 0 };
            if (pthread_create(&tid[t], NULL, scan_thread, &jobs[t]) != 0) die("pthread_create", root);
        }
        for (int t = 0; t < threads; t++) { pthread_join(tid[t], NULL); failures += jobs[t].failures; }
        times[pass] = now_ms() - start;
    }
    if (failures) { fprintf(stderr, "floor scan: %ld reads or stats failed\n", failures); return 1; }
    qsort(times + 1, 3, sizeof times[0], cmp_double);   /* pass 0 warms the dentry cache */
    printf("KCBENCH {\"n\":%d,\"threads\":%d,\"files\":%d,\"stats\":%d,\"ms\":%.3f}\n", n, threads, nscanread, nscanstat, times[2]);
    return 0;
}

int main(int argc, char **argv)
{
    double started = now_ms();
    if (argc < 4) { fprintf(stderr, "usage: floor setup|run|populate|depopulate|teardown|scan <spec> <root> [N] [pid]\n"); return 2; }
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
    if (!strcmp(cmd, "scan")) { open_mounts(); return scan(root, n); }
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
    open_mounts();
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
