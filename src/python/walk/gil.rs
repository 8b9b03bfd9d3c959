//! Which thread holds the GIL: one global place up to 3.11, one GIL per interpreter from
//! 3.12, none in free-threaded builds.

use super::{Gil, WalkError, Walker};
use crate::bytes::{i32_at, u64_at};
use crate::memory::Memory;
use crate::prefetch::Expect;
use crate::python::layout::GilHolder;

impl Walker<'_> {
    /// Where the GILs of the process are: one global place up to 3.11, one GIL per
    /// interpreter from 3.12 (subinterpreters may share the main one). These addresses only
    /// change when interpreters come and go, so a sampler can keep them for a while.
    pub fn gils(&self) -> Result<Vec<Gil>, WalkError> {
        match self.layout.gil {
            GilHolder::CurrentSymbol => Ok(self
                .roots
                .tstate_current
                .map(Gil::Current)
                .into_iter()
                .collect()),
            GilHolder::Runtime(off) => Ok(self
                .roots
                .runtime
                .map(|rt| Gil::Current(rt.wrapping_add(off)))
                .into_iter()
                .collect()),
            GilHolder::Interp { ceval_gil, .. } => {
                let mut gils = Vec::new();
                for interp in self.interpreters()? {
                    let gil = self.ptr(
                        interp.wrapping_add(ceval_gil),
                        "PyInterpreterState.ceval.gil",
                    )?;
                    if gil != 0 && !gils.contains(&Gil::Struct(gil)) {
                        gils.push(Gil::Struct(gil));
                    }
                }
                Ok(gils)
            }
            // Free-threaded: there is no GIL to hold.
            GilHolder::Disabled => Ok(Vec::new()),
        }
    }

    /// The thread state holding this GIL, if any; what it was read from goes to `expect`.
    fn holder(&self, gil: Gil, expect: &mut Vec<Expect>) -> Result<Option<u64>, WalkError> {
        let holder = match (gil, self.layout.gil) {
            (Gil::Current(addr), _) => {
                let holder = self.ptr(addr, "current thread state")?;
                expect.push(Expect::new(addr, 8, holder));
                holder
            }
            (
                Gil::Struct(gil),
                GilHolder::Interp {
                    last_holder,
                    locked,
                    ..
                },
            ) => {
                let mut b = [0u8; 32];
                let len = (last_holder.max(locked) + 8) as usize;
                let b = &mut b[..len.min(32)];
                self.mem()
                    .read(gil, b)
                    .map_err(WalkError::read("_gil_runtime_state"))?;
                // last_holder is only meaningful while the GIL is locked.
                let is_locked = i32_at(b, locked as usize);
                expect.push(Expect::new(
                    gil.wrapping_add(locked),
                    4,
                    is_locked.unwrap_or(0) as u32 as u64,
                ));
                match is_locked {
                    Some(1) => {
                        let holder = u64_at(b, last_holder as usize).unwrap_or(0);
                        expect.push(Expect::new(gil.wrapping_add(last_holder), 8, holder));
                        holder
                    }
                    _ => 0,
                }
            }
            (Gil::Struct(_), _) => 0,
        };
        Ok((holder != 0).then_some(holder))
    }

    /// The thread states holding these GILs.
    pub fn holders(&self, gils: &[Gil]) -> Result<Vec<u64>, WalkError> {
        self.holders_expect(gils, &mut Vec::new())
    }

    /// The thread states holding these GILs; the values that say so go to `expect` (see
    /// `Prefetcher::recheck`).
    pub fn holders_expect(
        &self,
        gils: &[Gil],
        expect: &mut Vec<Expect>,
    ) -> Result<Vec<u64>, WalkError> {
        let mut holders = Vec::with_capacity(gils.len());
        for &gil in gils {
            if let Some(h) = self.holder(gil, expect)? {
                holders.push(h);
            }
        }
        Ok(holders)
    }

    /// The thread state holding the GIL of `interp`.
    pub(super) fn gil_holder(&self, interp: u64) -> Result<Option<u64>, WalkError> {
        match self.layout.gil {
            GilHolder::Interp { ceval_gil, .. } => {
                match self.ptr(
                    interp.wrapping_add(ceval_gil),
                    "PyInterpreterState.ceval.gil",
                )? {
                    0 => Ok(None),
                    gil => self.holder(Gil::Struct(gil), &mut Vec::new()),
                }
            }
            _ => self.holders(&self.gils()?).map(|h| h.first().copied()),
        }
    }
}
