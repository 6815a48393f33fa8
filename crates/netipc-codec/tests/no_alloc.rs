//! Decoding and walking views allocates nothing: counted by a global
//! allocator that tallies the allocations of the current thread.

use netipc_codec::lookup::*;
use netipc_codec::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter
// is a const-initialised thread-local that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn snapshot_decode_and_walk_allocate_nothing() {
    let mut payload = Vec::new();
    let mut b = CgroupsBuilder::new(&mut payload, usize::MAX);
    b.set_header(1, 77);
    for i in 0..1000u32 {
        let name = format!("system.slice/service-{i}.service");
        let path = format!("/sys/fs/cgroup/system.slice/service-{i}.service");
        b.add(i, i & 3, 1, name.as_bytes(), path.as_bytes()).unwrap();
    }
    let len = b.finish();
    let bytes = &payload[..len];

    let mut checksum = 0u64;
    let n = allocations_in(|| {
        let v = CgroupsResponseView::decode(bytes).unwrap();
        assert_eq!(v.item_count, 1000);
        for item in v.iter() {
            checksum += item.hash as u64 + item.name.len() as u64 + item.path.as_bytes()[0] as u64;
        }
        for i in 0..v.item_count {
            checksum += v.item(i).unwrap().options as u64;
        }
    });
    assert_eq!(n, 0, "decoding allocated {n} times");
    assert!(checksum > 0);
}

#[test]
fn lookup_decode_and_walk_allocate_nothing() {
    let labels: [LabelInput<'_>; 2] = [(b"a", b"b"), (b"role", b"db")];
    let mut payload = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut payload, 1, usize::MAX);
    for _ in 0..256 {
        b.add(&CgroupsLookupEntry::known(
            b"/kubepods/pod",
            Orchestrator::K8S,
            b"pod",
            &labels,
        ))
        .unwrap();
    }
    let len = b.finish();
    let bytes = &payload[..len];
    let mut total = 0usize;
    let n = allocations_in(|| {
        let v = CgroupsLookupResponseView::decode(bytes).unwrap();
        for it in v.iter() {
            total += it.path.len() + it.labels().map(|l| l.key.len() + l.value.len()).sum::<usize>();
        }
    });
    assert_eq!(n, 0);
    assert_eq!(total, 256 * (13 + 8));
}

#[test]
fn builders_reuse_their_buffer() {
    let mut payload = Vec::with_capacity(1 << 20);
    let build = |out: &mut Vec<u8>| {
        let mut b = CgroupsBuilder::new(out, usize::MAX);
        for i in 0..1000u32 {
            b.add(i, 0, 1, b"name", b"/sys/fs/cgroup/path").unwrap();
        }
        b.finish()
    };
    build(&mut payload);
    let n = allocations_in(|| {
        build(&mut payload);
    });
    assert_eq!(n, 0, "a warm builder allocated {n} times");
}
