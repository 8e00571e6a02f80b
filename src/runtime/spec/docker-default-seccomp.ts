/**
 * Docker's default seccomp policy, as Berth's own data: the rules of moby's published default
 * profile, written here as facts (syscall names, the capabilities that unlock them, the argument
 * filters) and turned into a moby-format profile the converter reads. Containers-common's profile,
 * which Berth used before, is podman's policy and lets a default container `unshare -U` and then
 * mount in the new namespace, or call `keyctl`; docker's does not, and Berth's users expect docker's.
 */
import type { MobySeccompProfile, MobySeccompRule } from './seccomp-profile.js';

/** Allowed for every container. */
const ALLOWED = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount
listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock
munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause
pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64
prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr removexattrat rename renameat renameat2 restart_syscall riscv_hwprobe
rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64
sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink symlinkat
sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask
uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid
waitpid write writev`;

/** Allowed from kernel 4.8 on (before it, seccomp could be bypassed through ptrace). */
const ALLOWED_FROM_4_8 = 'process_vm_readv process_vm_writev ptrace';

/** Socket address families every container may open: below 12, then these. */
const SOCKET_FAMILIES_BELOW = 12;
const SOCKET_FAMILIES = [13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45];

/** `personality(2)` personas allowed: Linux, UNAME26, ADDR_NO_RANDOMIZE and their mix, and the query. */
const PERSONALITIES = [0, 0x0008, 0x20000, 0x20008, 0xffffffff];

/** Syscalls allowed only on some architectures (Go's names). */
const BY_ARCH: Array<[string, string[]]> = [
  ['sync_file_range2 swapcontext', ['ppc64le']],
  ['arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', ['arm', 'arm64']],
  ['arch_prctl', ['amd64', 'x32']],
  ['modify_ldt', ['amd64', 'x32', 'x86']],
  ['s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr', ['s390', 's390x']],
  ['riscv_flush_icache', ['riscv64']],
];

/** Syscalls a capability unlocks: a container gets them only with that capability (`--cap-add`, `--privileged`). */
const BY_CAPABILITY: Array<[string, string]> = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare',
  ],
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'delete_module init_module finit_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

/** The clone(2) flags that make new namespaces; without CAP_SYS_ADMIN a clone may set none of them. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** errno values the profile returns. */
const EPERM = 1;
const ENOSYS = 38;

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== '');

/** Docker's default profile in moby's format, for every architecture (the converter picks the host's). */
export function dockerDefaultSeccompProfile(): MobySeccompProfile {
  const allow = (names: string[], extra: Partial<MobySeccompRule> = {}): MobySeccompRule => ({ names, action: 'SCMP_ACT_ALLOW', ...extra });
  const syscalls: MobySeccompRule[] = [
    allow(words(ALLOWED)),
    allow(words(ALLOWED_FROM_4_8), { includes: { minKernel: '4.8' } }),
    allow(['socket'], { args: [{ index: 0, value: SOCKET_FAMILIES_BELOW, valueTwo: 0, op: 'SCMP_CMP_LT' }] }),
    ...SOCKET_FAMILIES.map((family) => allow(['socket'], { args: [{ index: 0, value: family, valueTwo: 0, op: 'SCMP_CMP_EQ' }] })),
    ...PERSONALITIES.map((persona) => allow(['personality'], { args: [{ index: 0, value: persona, valueTwo: 0, op: 'SCMP_CMP_EQ' }] })),
    ...BY_ARCH.map(([names, arches]) => allow(words(names), { includes: { arches } })),
    ...BY_CAPABILITY.map(([cap, names]) => allow(words(names), { includes: { caps: [cap] } })),
    // Without CAP_SYS_ADMIN: clone without namespace flags (s390 passes the flags second), and
    // clone3, whose flags seccomp cannot read, answers ENOSYS so libc falls back to clone.
    allow(['clone'], { args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } }),
    allow(['clone'], { args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], includes: { arches: ['s390', 's390x'] }, excludes: { caps: ['CAP_SYS_ADMIN'] } }),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  ];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
      { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
      { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
      { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
      { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
      { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
    ],
    syscalls,
  };
}
