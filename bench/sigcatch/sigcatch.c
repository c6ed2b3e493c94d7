/* sigcatch N [SIG]: the main command of pid1bench's signal forwarding
 * latency. It prints "ready", then, from its handler of signal number SIG
 * (default SIGUSR1), CLOCK_MONOTONIC in nanoseconds for each of N signals,
 * and exits. In C, so that the
 * measurement holds the init's hop and the kernel's, not a language
 * runtime's own signal path (Go's wakes two more threads, and varies by
 * tens of microseconds from run to run).
 * Build: gcc -static -O2 -o sigcatch sigcatch.c */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_sig(int sig) {
	struct timespec ts;
	char buf[32], digits[24];
	int n = 0, d = 0;
	long long ns;
	(void)sig;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	do digits[d++] = '0' + ns % 10; while ((ns /= 10) > 0);
	while (d > 0) buf[n++] = digits[--d];
	buf[n++] = '\n';
	if (write(1, buf, n) != n) _exit(111);
	caught++;
}

int main(int argc, char **argv) {
	int want = argc > 1 ? atoi(argv[1]) : 1;
	int sig = argc > 2 ? atoi(argv[2]) : SIGUSR1;
	struct sigaction sa;
	sigset_t one, none;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	if (sigaction(sig, &sa, 0) != 0) return 111;
	/* Blocked but in sigsuspend, which unblocks it atomically: a signal
	 * between the test and the wait is not missed. */
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_BLOCK, &one, 0);
	sigemptyset(&none);
	if (write(1, "ready\n", 6) != 6) return 111;
	while (caught < want) sigsuspend(&none);
	return 0;
}
