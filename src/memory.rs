//! Reading the target's memory: the `Memory` trait, the live implementation
//! (process_vm_readv, falling back to /proc/PID/mem), and a fake for unit tests.

use std::cell::OnceCell;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::budget::Exhausted;
use crate::sys::uio;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The process no longer exists.
    Gone,
    /// Nothing (or not everything) is mapped at this range.
    Fault { addr: u64, len: usize },
    /// The kernel refuses to let us read the process at all.
    Denied(String),
    /// The read would go beyond the budget of the sample or dump (see `budget`).
    Budget(Exhausted),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Gone => f.write_str("the process exited"),
            ReadError::Fault { addr, len } => write!(f, "cannot read {len} bytes at {addr:#x}"),
            ReadError::Denied(why) => f.write_str(why),
            ReadError::Budget(what) => write!(f, "{what}"),
        }
    }
}

pub trait Memory {
    /// Fills all of `buf` with the bytes at `addr`, or fails.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError>;

    /// Fills as much of `buf` as is mapped from `addr` on (at least one byte), for reads that
    /// speculatively ask for more than they need.
    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.read(addr, buf).map(|()| buf.len())
    }

    /// Fills several buffers, `parts[i].1` with the bytes at `parts[i].0`, in as few system
    /// calls as possible. Returns how many leading parts were filled completely; the rest
    /// are left to be read one by one.
    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        for (i, (addr, buf)) in parts.iter_mut().enumerate() {
            match self.read(*addr, buf) {
                Ok(()) => {}
                Err(ReadError::Fault { .. }) => return Ok(i),
                Err(e) => return Err(e),
            }
        }
        Ok(parts.len())
    }

    /// A little-endian u64 at `addr`.
    fn u64(&self, addr: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// A borrowed memory is a memory (a `Prefetcher` over a test's `FakeMemory`).
impl<M: Memory + ?Sized> Memory for &M {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).read(addr, buf)
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        (**self).read_prefix(addr, buf)
    }

    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        (**self).read_many(parts)
    }
}

/// The memory of a live process.
pub struct RemoteMemory {
    pid: i32,
    /// Set once process_vm_readv has been refused (seccomp, old kernels): /proc/PID/mem.
    fallback: OnceCell<Fallback>,
}

/// /proc/PID/mem, opened after process_vm_readv failed with `vm_error`.
struct Fallback {
    file: Result<File, String>,
    vm_error: String,
}

impl Fallback {
    /// Both ways of reading were refused: say so, and what to do.
    fn refused(&self, pid: i32, mem_error: &str) -> ReadError {
        ReadError::Denied(format!(
            "Failed to read the memory of PID {pid}: process_vm_readv was refused ({}) and so was /proc/{pid}/mem ({mem_error}); a seccomp filter or security module forbids reading another process's memory: run pyflame without it (docker run --cap-add SYS_PTRACE, which Docker's default seccomp profile requires for process_vm_readv, or --security-opt seccomp=unconfined)",
            self.vm_error
        ))
    }
}

impl RemoteMemory {
    pub fn new(pid: i32) -> RemoteMemory {
        RemoteMemory {
            pid,
            fallback: OnceCell::new(),
        }
    }

    /// True once reads go through /proc/PID/mem.
    fn uses_proc_mem(&self) -> bool {
        self.fallback.get().is_some()
    }

    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        if let Some(fallback) = self.fallback.get() {
            return self.read_file(fallback, addr, buf);
        }
        match uio::process_vm_readv(self.pid, addr, buf) {
            Ok(n) => Ok(n),
            Err(e) => match e.raw_os_error() {
                Some(libc::ESRCH) => Err(ReadError::Gone),
                Some(libc::EFAULT) | Some(libc::EIO) => Ok(0),
                // EPERM/ENOSYS: the call itself is refused; /proc/PID/mem takes the same
                // ptrace access check but is not a system call a seccomp filter can block.
                _ => {
                    let fallback = self.fallback.get_or_init(|| Fallback {
                        file: File::open(format!("/proc/{}/mem", self.pid))
                            .map_err(|f| errno_text(&f)),
                        vm_error: errno_text(&e),
                    });
                    self.read_file(fallback, addr, buf)
                }
            },
        }
    }

    fn read_file(
        &self,
        fallback: &Fallback,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<usize, ReadError> {
        let file = match &fallback.file {
            Ok(file) => file,
            Err(why) => return Err(fallback.refused(self.pid, why)),
        };
        match file.read_at(buf, addr) {
            Ok(n) => Ok(n),
            Err(e) => match e.raw_os_error() {
                Some(libc::ESRCH) => Err(ReadError::Gone),
                // What /proc/PID/mem says for an address nothing is mapped at.
                Some(libc::EIO) | Some(libc::EFAULT) => Ok(0),
                _ => Err(fallback.refused(self.pid, &errno_text(&e))),
            },
        }
    }
}

fn errno_text(e: &io::Error) -> String {
    crate::permissions::errno_text(e)
}

impl Memory for RemoteMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        match self.read_some(addr, buf)? {
            n if n == buf.len() => Ok(()),
            _ => Err(ReadError::Fault {
                addr,
                len: buf.len(),
            }),
        }
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        match self.read_some(addr, buf)? {
            0 if !buf.is_empty() => Err(ReadError::Fault {
                addr,
                len: buf.len(),
            }),
            n => Ok(n),
        }
    }

    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        if self.uses_proc_mem() || parts.len() < 2 {
            return match parts {
                [(addr, buf)] => Ok(usize::from(self.read(*addr, buf).is_ok())),
                _ => Ok(0),
            };
        }
        // The kernel copies the remote ranges in order and stops at the first it cannot read
        // (man 2 process_vm_readv): the byte count tells how many parts are complete.
        let mut copied = match uio::process_vm_readv_many(self.pid, parts) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(ReadError::Gone),
            Err(_) => return Ok(0),
        };
        let mut complete = 0;
        for (_, buf) in parts.iter() {
            if copied < buf.len() {
                break;
            }
            copied -= buf.len();
            complete += 1;
        }
        Ok(complete)
    }
}

/// Blocks of the same size read from many addresses in one batch, looked up by address.
/// Blocks that could not be read in the batch are simply absent.
pub struct Prefetched {
    /// (address, index of its block), sorted by address.
    index: Vec<(u64, usize)>,
    data: Vec<u8>,
    len: usize,
}

impl Prefetched {
    pub fn read(mem: &dyn Memory, addrs: &[u64], len: usize) -> Result<Prefetched, ReadError> {
        let mut data = vec![0u8; addrs.len() * len];
        let filled = {
            let mut parts: Vec<(u64, &mut [u8])> = addrs
                .iter()
                .copied()
                .zip(data.chunks_mut(len.max(1)))
                .collect();
            mem.read_many(&mut parts)?
        };
        let mut index: Vec<(u64, usize)> = addrs[..filled].iter().copied().zip(0..).collect();
        index.sort_unstable();
        Ok(Prefetched { index, data, len })
    }

    pub fn get(&self, addr: u64) -> Option<&[u8]> {
        let i = self.index.binary_search_by_key(&addr, |e| e.0).ok()?;
        let block = self.index[i].1;
        self.data.get(block * self.len..(block + 1) * self.len)
    }
}

/// A sparse fake address space for unit tests: reads must fall inside one written region.
#[cfg(test)]
#[derive(Default)]
pub struct FakeMemory {
    regions: std::collections::BTreeMap<u64, Vec<u8>>,
}

#[cfg(test)]
impl FakeMemory {
    pub fn write(&mut self, addr: u64, bytes: &[u8]) {
        self.regions.insert(addr, bytes.to_vec());
    }

    /// Overwrites bytes inside an already written region.
    pub fn patch(&mut self, addr: u64, bytes: &[u8]) {
        let (&start, region) = self
            .regions
            .range_mut(..=addr)
            .next_back()
            .expect("patch inside a region");
        let off = (addr - start) as usize;
        region[off..off + bytes.len()].copy_from_slice(bytes);
    }

    fn region(&self, addr: u64) -> Option<(u64, &Vec<u8>)> {
        let (&start, bytes) = self.regions.range(..=addr).next_back()?;
        (addr - start < bytes.len() as u64).then_some((start, bytes))
    }
}

#[cfg(test)]
impl Memory for FakeMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let fault = ReadError::Fault {
            addr,
            len: buf.len(),
        };
        let (start, bytes) = self.region(addr).ok_or(fault.clone())?;
        let off = (addr - start) as usize;
        let src = bytes.get(off..off + buf.len()).ok_or(fault)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        let (start, bytes) = self.region(addr).ok_or(ReadError::Fault {
            addr,
            len: buf.len(),
        })?;
        let off = (addr - start) as usize;
        let n = buf.len().min(bytes.len() - off);
        buf[..n].copy_from_slice(&bytes[off..off + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_memory() {
        let secret = *b"pyflame-memory-test";
        let mem = RemoteMemory::new(std::process::id() as i32);
        let mut buf = [0u8; 19];
        mem.read(secret.as_ptr() as u64, &mut buf).unwrap();
        assert_eq!(buf, secret);
        let mut big = [0u8; 16];
        assert_eq!(
            mem.read(8, &mut big),
            Err(ReadError::Fault { addr: 8, len: 16 })
        );
    }

    #[test]
    fn fake_memory_reads_inside_regions_only() {
        let mut m = FakeMemory::default();
        m.write(0x1000, &[1, 2, 3, 4]);
        let mut b = [0u8; 2];
        m.read(0x1002, &mut b).unwrap();
        assert_eq!(b, [3, 4]);
        assert!(m.read(0x1003, &mut b).is_err());
        assert!(m.read(0xfff, &mut b).is_err());
        let mut big = [0u8; 8];
        assert_eq!(m.read_prefix(0x1001, &mut big), Ok(3));
    }
}
