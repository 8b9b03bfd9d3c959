//! process_vm_readv(2): copy bytes out of another process in one system call.
//!
//! `syscall(2)` is variadic: every argument is passed as a full `long`, or the kernel sees
//! garbage in the upper half (it did, in `flags`, before this was spelled out).

use std::io;

/// Reads `buf.len()` bytes at `remote` in process `pid`. Returns how many bytes were copied:
/// fewer than asked when the range runs into an unmapped page (man 2 process_vm_readv,
/// "partial reads").
pub fn process_vm_readv(pid: i32, remote: u64, buf: &mut [u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: remote as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which is live and writable for its whole length; the remote iovec is only an address in the other process and is never dereferenced here.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_process_vm_readv,
            pid as libc::c_long,
            &local as *const libc::iovec,
            1 as libc::c_ulong,
            &remote as *const libc::iovec,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// Reads several remote ranges into several local buffers in one system call, pairwise
/// (`parts[i].1` receives the bytes at `parts[i].0`). Returns the total number of bytes
/// copied; the kernel stops at the first range it cannot read.
pub fn process_vm_readv_many(pid: i32, parts: &mut [(u64, &mut [u8])]) -> io::Result<usize> {
    // IOV_MAX is 1024 on Linux.
    let n = parts.len().min(1024);
    let parts = &mut parts[..n];
    let mut local = Vec::with_capacity(parts.len());
    let mut remote = Vec::with_capacity(parts.len());
    for (addr, buf) in parts.iter_mut() {
        local.push(libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        });
        remote.push(libc::iovec {
            iov_base: *addr as *mut libc::c_void,
            iov_len: buf.len(),
        });
    }
    // SAFETY: each local iovec describes a live, writable buffer borrowed mutably for the duration of the call; remote iovecs are never dereferenced here.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_process_vm_readv,
            pid as libc::c_long,
            local.as_ptr(),
            n as libc::c_ulong,
            remote.as_ptr(),
            n as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}
