//! Runtimes already found, so that a process of an interpreter already seen (a pre-fork
//! server's worker, a pool's, another run of the same program) costs no ELF reading or
//! version detection (process trees).

use super::{candidates, find, Runtime};
use crate::error::Result;
use crate::memory::Memory;
use crate::proc::{self, Mapping};

/// Runtimes already found, by the files they were found in (device and inode): a process that
/// runs the same executable and maps the file its runtime was found in, as one already seen (a pre-fork server's worker, a
/// pool's, or another run of the same interpreter) has the same version, layout and symbols,
/// only perhaps loaded elsewhere; it needs no ELF reading or version detection again.
#[derive(Default)]
pub struct Known(Vec<Found>);

struct Found {
    /// The executable, by device and inode.
    exe: Option<(String, u64)>,
    /// The mapping of the file that holds the runtime: device, inode, offset, address.
    mapping: (String, u64, u64, u64),
    runtime: Runtime,
}

/// Runtimes `Known` remembers (the oldest is forgotten first).
const MAX_KNOWN: usize = 32;

/// `find`, through what `known` remembers.
pub fn find_known(
    pid: i32,
    maps: &[Mapping],
    abi: Option<(u8, u8)>,
    mem: &dyn Memory,
    known: &mut Known,
) -> Result<Runtime> {
    let files = candidates(pid, maps);
    let exe = proc::exe(pid)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let exe = maps
        .iter()
        .find(|m| exe.as_deref() == Some(m.file_path()))
        .map(|m| (m.dev.clone(), m.inode));
    for found in known.0.iter().filter(|f| f.exe == exe) {
        let (dev, inode, offset, start) = &found.mapping;
        let same = |m: &&&Mapping| m.dev == *dev && m.inode == *inode && m.offset == *offset;
        if let Some(m) = files.iter().find(same) {
            // Every root is an address in that file: loaded elsewhere, it moved with it.
            let moved = |a: Option<u64>| a.map(|a| a.wrapping_add(m.start.wrapping_sub(*start)));
            let mut runtime = found.runtime.clone();
            let roots = &mut runtime.roots;
            roots.runtime = moved(roots.runtime);
            roots.interp_head = moved(roots.interp_head);
            roots.tstate_current = moved(roots.tstate_current);
            roots.code_type = moved(roots.code_type);
            return Ok(runtime);
        }
    }
    let runtime = find(pid, maps, abi, mem)?;
    if let Some(m) = files.iter().find(|m| m.file_path() == runtime.path) {
        if known.0.len() >= MAX_KNOWN {
            known.0.remove(0);
        }
        known.0.push(Found {
            exe,
            mapping: (m.dev.clone(), m.inode, m.offset, m.start),
            runtime: runtime.clone(),
        });
    }
    Ok(runtime)
}
