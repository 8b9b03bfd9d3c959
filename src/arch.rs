//! What differs between the machines pyflame is built for (x86-64 and AArch64, both 64-bit
//! little-endian Linux), chosen at compile time: the ELF machine its targets must be, where
//! glibc's `struct pthread` keeps the kernel thread id, and the machine code of
//! `PyInterpreterState_Head()` (in `python/interp_head.rs`, which holds both decoders). The
//! registers and unwinding rules are `native/`'s (`native/cfi.rs` numbers both). CPython's
//! structs are laid out alike on both (the same LP64 ABI rules); the layout table is checked on
//! arm64 interpreters by `make test-aarch64`.

/// ELF `e_machine` of the targets pyflame reads (EM_X86_64, EM_AARCH64), and its name.
#[cfg(target_arch = "x86_64")]
pub const EM: u16 = 62;
#[cfg(target_arch = "x86_64")]
pub const NAME: &str = "x86-64";
#[cfg(target_arch = "aarch64")]
pub const EM: u16 = 183;
#[cfg(target_arch = "aarch64")]
pub const NAME: &str = "AArch64";

/// Where `pid_t tid` is in glibc's `struct pthread` (what a `pthread_t` points at): after
/// x86-64's 704-byte `tcbhead_t` and the `list` link (0x2d0 in glibc 2.28 to 2.43); 0xd0 on
/// AArch64, whose TCB is not in the struct (measured with Debian trixie's glibc 2.41 by
/// tests/aarch64/layout.py). Not an ABI: callers check the result against /proc/PID/task.
#[cfg(target_arch = "x86_64")]
pub const PTHREAD_TID: u64 = 0x2d0;
#[cfg(target_arch = "aarch64")]
pub const PTHREAD_TID: u64 = 0xd0;

/// How much longer glibc's `pthread_mutex_t` is than on x86-64 (40 bytes there, 48 on
/// AArch64). CPython's structs hold platform mutexes in one place pyflame reads past: the
/// GIL's two, in `_PyRuntime` before `gilstate.tstate_current` (3.7 to 3.11; the layout table
/// adds twice this; measured on Debian's arm64 3.11: 592, against 576).
#[cfg(target_arch = "x86_64")]
pub const MUTEX_EXTRA: u64 = 0;
#[cfg(target_arch = "aarch64")]
pub const MUTEX_EXTRA: u64 = 8;
