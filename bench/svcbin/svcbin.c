/* svcbin: the service the supervision benchmarks run, as ./run (a symlink)
 * in each service directory. It appends "start PID NS" to ./events when it
 * starts, "hup PID NS" on SIGHUP, "term PID NS" on SIGTERM (then exits 0).
 * NS is CLOCK_MONOTONIC in nanoseconds, comparable across processes.
 * Build: gcc -static -O2 -o svcbin svcbin.c */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(const char *what) {
	struct timespec ts;
	char buf[96];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(buf, sizeof buf, "%s %d %lld\n", what, (int)getpid(),
	                 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	int fd = open("events", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, n) != n) _exit(111);
		close(fd);
	}
}

static void on_hup(int sig) { (void)sig; stamp("hup"); }
static void on_term(int sig) { (void)sig; stamp("term"); _exit(0); }

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, 0);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, 0);
	stamp("start");
	for (;;) pause();
}
