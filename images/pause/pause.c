/* zenml-platform pause: the sandbox ("pause") container of every pod on the local node.
 *
 * Holds the pod's namespaces open by doing nothing: it sleeps until SIGTERM or SIGINT (then exits 0) and, as the
 * pod's PID 1 when the PID namespace is shared, reaps every child that gets reparented to it.
 * Signals are blocked outside sigsuspend(), so none can arrive between the check and the sleep.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "dev"
#endif

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }
static void on_child(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("pause (zenml-platform) %s\n", PAUSE_VERSION);
        return 0;
    }
    if (getpid() != 1)
        fprintf(stderr, "pause: warning: not running as PID 1\n");

    sigset_t blocked, waiting;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &blocked, &waiting) != 0) {
        perror("pause: sigprocmask");
        return 1;
    }
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    sigdelset(&waiting, SIGCHLD);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }

    for (;;) {
        sigsuspend(&waiting); /* returns after a handler ran; signals are blocked again here */
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (stop_signal) {
            fprintf(stderr, "pause: shutting down on signal %d\n", (int)stop_signal);
            return 0;
        }
    }
}
