//! Unit tests of the allocator concepts (the std test harness allocates through the system
//! allocator; these tests call the allocator directly).

use core::sync::atomic::Ordering;
use std::sync::{Arc, Barrier, Mutex};
use std::vec::Vec;

use crate::alloc::{heap_malloc_aligned, usable_size};
use crate::capi::*;
use crate::heap;
use crate::size_class::{BIN_FULL, bin_of};
use crate::types::*;

fn fill(p: *mut u8, n: usize, seed: u8) {
    for i in 0..n {
        // SAFETY: `p` points to at least `n` writable bytes.
        unsafe { *p.add(i) = seed.wrapping_add(i as u8) };
    }
}

fn check(p: *const u8, n: usize, seed: u8) {
    for i in 0..n {
        // SAFETY: `p` points to at least `n` readable bytes.
        assert_eq!(unsafe { *p.add(i) }, seed.wrapping_add(i as u8), "byte {i}");
    }
}

fn my_heap() -> *mut Heap {
    crate::alloc::default_heap()
}

#[test]
fn malloc_free_every_size_class() {
    let sizes: Vec<usize> = (0..=2048)
        .chain([
            4095,
            4096,
            10_000,
            16 << 10,
            100 << 10,
            128 << 10,
            129 << 10,
            1 << 20,
            2 << 20,
            (2 << 20) + 1,
            9 << 20,
        ])
        .collect();
    let mut ptrs = Vec::new();
    for (i, &s) in sizes.iter().enumerate() {
        let p = crate::malloc(s);
        assert!(!p.is_null(), "size {s}");
        assert_eq!(p as usize % 8, 0);
        // SAFETY: live block.
        assert!(unsafe { usable_size(p) } >= s);
        fill(p, s.min(4096), i as u8);
        ptrs.push((p, s, i as u8));
    }
    for &(p, s, seed) in &ptrs {
        check(p, s.min(4096), seed);
    }
    for (p, _, _) in ptrs {
        // SAFETY: live block from this allocator.
        unsafe { crate::free(p) };
    }
}

#[test]
fn blocks_above_8_bytes_are_16_aligned() {
    // glibc's guarantee (max_align_t) that programs, and Rust's System allocator, rely on
    for s in 9..=5000 {
        let p = mt_malloc(s) as *mut u8;
        assert_eq!(p as usize % 16, 0, "size {s}");
        // SAFETY: live block.
        unsafe { mt_free(p as _) };
    }
}

#[test]
fn direct_cache_and_local_free_list() {
    let heap = my_heap();
    let p = mt_malloc(24) as *mut u8;
    // SAFETY: `heap` is this thread's heap; `p` a live block of it.
    unsafe {
        let page = (*heap).pages_direct[3];
        assert_ne!(page, heap::empty_page(), "direct cache points at the page");
        assert_eq!(page, page_of(segment_of(p), p));
        assert_eq!((*page).block_size, 32);
        assert_eq!(
            (*heap).pages_direct[4],
            page,
            "24 and 32 bytes share the 32-byte class"
        );
        let used = (*page).used;
        mt_free(p as _);
        assert_eq!((*page).used, used - 1);
        assert_eq!(
            (*page).free as *mut u8,
            p,
            "same-thread free goes onto free"
        );
        assert!(!(*page).free_is_zero);
    }
}

#[test]
fn a_freed_block_is_the_next_one_allocated() {
    std::thread::spawn(|| {
        let size = 1000; // a size class (1 KiB) no other test uses
        let first = mt_malloc(size) as *mut u8;
        // SAFETY: the thread's own heap, page and blocks.
        unsafe {
            let page = page_of(segment_of(first), first);
            let mut taken = vec![first];
            while !(*page).free.is_null() {
                taken.push(mt_malloc(size) as *mut u8);
            }
            let a = taken.pop().unwrap();
            let b = taken.pop().unwrap();
            mt_free(a as _);
            mt_free(b as _);
            assert!(!(*page).free_is_zero);
            assert_eq!((*page).free as *mut u8, b, "frees go onto free");
            assert_eq!(mt_malloc(size) as *mut u8, b);
            assert_eq!((*page).free as *mut u8, a);
            // with `free` not empty, a free goes on top of it and comes back first
            // (the block just freed is the one in cache), not after the older `a`
            mt_free(b as _);
            assert_eq!((*page).free as *mut u8, b);
            assert_eq!(mt_malloc(size) as *mut u8, b, "last freed, first reused");
            assert_eq!(mt_malloc(size) as *mut u8, a);
            mt_free(a as _);
            mt_free(b as _);
            for p in taken {
                mt_free(p as _);
            }
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_block_freed_while_free_holds_fresh_blocks_is_zeroed_by_calloc() {
    // 700 B: the fast-path free joins `free` and drops the zero knowledge; 1700 B (above
    // FRESH_FLAG_MIN): the page has FLAG_FRESH, the free waits in `local_free`
    std::thread::spawn(|| {
        for size in [700usize, 1700] {
            calloc_after_free_into_fresh_page(size);
        }
    })
    .join()
    .unwrap();
}

fn calloc_after_free_into_fresh_page(size: usize) {
    {
        // size classes no other test uses, on a fresh thread
        let p = mt_malloc(size) as *mut u8;
        // SAFETY: the thread's own page and blocks.
        unsafe {
            let page = page_of(segment_of(p), p);
            assert!(
                (*page).free_is_zero && !(*page).free.is_null(),
                "a fresh page of a fresh thread holds known-zero blocks"
            );
            assert_eq!((*page).flags & FLAG_FRESH != 0, size > FRESH_FLAG_MIN);
            fill(p, size, 0xA5);
            mt_free(p as _);
            assert_eq!(
                (*page).free_is_zero,
                size > FRESH_FLAG_MIN,
                "only FLAG_FRESH pages keep knowing their free list is zero"
            );
            let mut v = Vec::new();
            loop {
                let z = mt_calloc(1, size) as *mut u8;
                for i in 0..size {
                    assert_eq!(*z.add(i), 0, "block {z:?} byte {i}");
                }
                v.push(z);
                if z == p {
                    break;
                }
            }
            for z in v {
                mt_free(z as _);
            }
        }
    }
}

#[test]
fn free_list_is_collected_when_it_runs_dry() {
    // allocate a whole fresh page of one size class, free everything locally, and see the
    // same blocks handed out again after local_free moves to free
    let size = 3000; // a size class no other test uses
    let mut v = Vec::new();
    let first = mt_malloc(size) as *mut u8;
    // SAFETY: live block.
    let page = unsafe { page_of(segment_of(first), first) };
    // SAFETY: `page` is this thread's page.
    let reserved = unsafe { (*page).reserved } as usize;
    v.push(first);
    for _ in 1..reserved {
        let p = mt_malloc(size) as *mut u8;
        // SAFETY: live block.
        assert_eq!(unsafe { page_of(segment_of(p), p) }, page);
        v.push(p);
    }
    // SAFETY: page owned by this thread.
    unsafe {
        assert!((*page).free.is_null());
        assert_eq!((*page).used as usize, reserved);
    }
    let keep = v.pop().unwrap();
    for &p in &v {
        // SAFETY: live block.
        unsafe { mt_free(p as _) };
    }
    let again = mt_malloc(size) as *mut u8;
    assert!(v.contains(&again), "a locally freed block is reused");
    // SAFETY: live blocks.
    unsafe {
        mt_free(again as _);
        mt_free(keep as _);
    }
}

#[test]
fn calloc_zeroes_reused_memory() {
    let mut v = Vec::new();
    for s in [8usize, 40, 500, 5000, 70_000, 300_000] {
        let p = mt_malloc(s) as *mut u8;
        fill(p, s, 0xA5);
        v.push((p, s));
    }
    for &(p, _) in &v {
        // SAFETY: live block.
        unsafe { mt_free(p as _) };
    }
    for &(_, s) in &v {
        let p = mt_calloc(1, s) as *mut u8;
        for i in 0..s {
            // SAFETY: `s` readable bytes.
            assert_eq!(unsafe { *p.add(i) }, 0, "size {s} byte {i}");
        }
        // SAFETY: live block.
        unsafe { mt_free(p as _) };
    }
    assert!(
        mt_calloc(usize::MAX / 2, 4).is_null(),
        "overflow is an error"
    );
}

#[test]
fn aligned_allocation() {
    let mut align = 8usize;
    while align <= (16 << 20) {
        for size in [1usize, 7, 24, 100, 4096, 70_000, 3 << 20] {
            let p = mt_aligned_alloc(align, size) as *mut u8;
            assert!(!p.is_null(), "align {align} size {size}");
            assert_eq!(p as usize % align, 0, "align {align} size {size}");
            // SAFETY: live block.
            assert!(unsafe { mt_usable_size(p as _) } >= size);
            fill(p, size.min(10_000), 3);
            check(p, size.min(10_000), 3);
            // SAFETY: live block.
            unsafe { mt_free(p as _) };
        }
        align *= 2;
    }
    assert!(
        mt_aligned_alloc(24, 10).is_null(),
        "non-power-of-two alignment"
    );
    assert!(mt_aligned_alloc(0, 10).is_null());
}

#[test]
fn aligned_blocks_freed_from_another_thread() {
    let ptrs: Vec<usize> = (0..64)
        .map(|i| mt_aligned_alloc(8192, 100 + i * 10) as usize)
        .collect();
    for &p in &ptrs {
        assert_eq!(p % 8192, 0);
    }
    std::thread::spawn(move || {
        for p in ptrs {
            // SAFETY: live blocks.
            unsafe { mt_free(p as _) };
        }
    })
    .join()
    .unwrap();
}

#[test]
fn realloc_grows_and_shrinks_preserving_data() {
    // SAFETY: all pointers are live blocks from this allocator.
    unsafe {
        let mut p = mt_realloc(core::ptr::null_mut(), 10) as *mut u8;
        fill(p, 10, 7);
        let mut size = 10;
        for new in [20usize, 16, 1000, 100_000, 5 << 20, 12 << 20, 300, 5] {
            let q = mt_realloc(p as _, new) as *mut u8;
            assert!(!q.is_null());
            check(q, size.min(new), 7);
            fill(q, new, 7);
            p = q;
            size = new;
        }
        // in place when it still fits
        let q = mt_realloc(p as _, 4) as *mut u8;
        assert_eq!(q, p);
        mt_free(q as _);
    }
}

#[test]
fn huge_realloc_moves_pages_and_keeps_the_segment_consistent() {
    // SAFETY: all pointers are live blocks from this allocator.
    unsafe {
        let mut p = mt_malloc(3 << 20) as *mut u8;
        fill(p, 3 << 20, 3);
        let mut size = 3 << 20;
        // grow (page move on Linux), shrink while staying huge, grow again
        for new in [7 << 20, 24 << 20, (5 << 20) + 123, 9 << 20] {
            let q = mt_realloc(p as _, new) as *mut u8;
            assert!(!q.is_null());
            check(q, size.min(new), 3);
            let seg = segment_of(q);
            assert_eq!((*seg).kind, PageKind::Huge);
            assert_eq!((*seg).cookie, crate::segment::COOKIE ^ seg as usize);
            assert!(mt_usable_size(q as _) >= new);
            assert!(((*seg).map_base as usize) <= seg as usize);
            assert!((*seg).map_size >= (*seg).segment_size);
            fill(q, new, 3);
            p = q;
            size = new;
        }
        // on Linux the move itself succeeds (no copy fallback)
        #[cfg(target_os = "linux")]
        {
            let q = crate::segment::huge_remap(segment_of(p), p, 13 << 20);
            assert!(!q.is_null());
            check(q, size, 3);
            assert_eq!(
                *q.add((13 << 20) - 1),
                0,
                "the new tail is fresh zeroed memory"
            );
            p = q;
        }
        mt_free(p as _);
        // aligned huge blocks keep their alignment when moved
        let a = mt_aligned_alloc(4096, 3 << 20) as *mut u8;
        assert!(!a.is_null());
        fill(a, 3 << 20, 9);
        let b = mt_aligned_realloc(a as _, 4096, 11 << 20) as *mut u8;
        assert!(!b.is_null());
        assert!((b as usize).is_multiple_of(4096));
        check(b, 3 << 20, 9);
        mt_free(b as _);
    }
}

#[test]
fn huge_blocks_come_from_and_return_to_the_os() {
    let before = crate::stats::HUGE.total();
    let p = mt_malloc(32 << 20) as *mut u8;
    assert!(!p.is_null());
    assert!(crate::stats::HUGE.total() > before);
    // SAFETY: 32 MiB block.
    unsafe {
        assert_eq!(*p.add((32 << 20) - 1), 0, "fresh OS memory is zero");
        *p.add((32 << 20) - 1) = 1;
        assert!(mt_usable_size(p as _) >= 32 << 20);
        let seg = segment_of(p);
        assert_eq!((*seg).kind, PageKind::Huge);
        mt_free(p as _);
    }
}

#[test]
fn out_of_memory_returns_null() {
    assert!(mt_malloc(usize::MAX - 4096).is_null());
    assert!(mt_malloc(1 << 60).is_null());
    assert!(mt_aligned_alloc(1 << 40, usize::MAX / 2).is_null());
}

#[test]
fn cross_thread_free_goes_to_thread_free_list() {
    let p = mt_malloc(200) as usize;
    // SAFETY: live block.
    let page = unsafe { page_of(segment_of(p as *const u8), p as *const u8) };
    std::thread::spawn(move || {
        // SAFETY: live block, freed exactly once.
        unsafe { mt_free(p as _) };
    })
    .join()
    .unwrap();
    // SAFETY: `page` belongs to this thread.
    unsafe {
        let tf = (*page).xthread_free.load(Ordering::Acquire);
        let used = (*page).used;
        assert_eq!(
            tf_head(page, tf) as usize,
            p,
            "the block waits on thread_free"
        );
        assert_eq!(tf_count(tf), 1, "one block pending");
        crate::page::free_collect(page, false);
        assert_eq!((*page).used, used - 1, "collected by the owner");
    }
}

#[test]
fn collect_takes_the_thread_free_list_whole() {
    let size = 3400; // a size class no other test uses
    let blocks: Vec<usize> = (0..24).map(|_| mt_malloc(size) as usize).collect();
    assert!(blocks.iter().all(|&b| b != 0));
    // SAFETY: live blocks.
    let page_at = |b: usize| unsafe { page_of(segment_of(b as *const u8), b as *const u8) };
    let page = page_at(blocks[0]);
    let (same, other): (Vec<usize>, Vec<usize>) = blocks.iter().partition(|&&b| page_at(b) == page);
    assert!(
        same.len() >= 8,
        "a 64 KiB page holds at least 8 such blocks"
    );
    let (local, remote) = same.split_at(3);
    for &b in local {
        // SAFETY: live block, freed once.
        unsafe { mt_free(b as _) };
    }
    let remote = remote.to_vec();
    let r = remote.clone();
    std::thread::spawn(move || {
        for b in r {
            // SAFETY: live block, freed once.
            unsafe { mt_free(b as _) };
        }
    })
    .join()
    .unwrap();
    // SAFETY: `page` belongs to this thread; its lists are walked only here.
    unsafe {
        let tf = (*page).xthread_free.load(Ordering::Acquire);
        assert_eq!(
            tf_count(tf) as usize,
            remote.len(),
            "pending count in the word"
        );
        assert_eq!(
            tf_head(page, tf) as usize,
            *remote.last().unwrap(),
            "last freed first"
        );
        let used = (*page).used;
        crate::page::free_collect(page, false);
        assert_eq!((*page).used as usize, used as usize - remote.len());
        let tf = (*page).xthread_free.load(Ordering::Acquire);
        assert_eq!(tf & !DELAY_MASK, 0, "list taken whole, state kept");
        let walk = |mut b: *mut Block| {
            let mut v = Vec::new();
            while !b.is_null() {
                v.push(b as usize);
                b = (*b).next;
            }
            v
        };
        let mut listed = walk((*page).free);
        listed.extend(walk((*page).local_free));
        let n = listed.len();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed.len(), n, "no block listed twice");
        for b in local.iter().chain(&remote) {
            assert!(
                listed.binary_search(b).is_ok(),
                "freed block {b:#x} is listed"
            );
        }
        crate::page::free_collect(page, true);
        assert!((*page).local_free.is_null(), "forced: everything in free");
        let mut all = walk((*page).free);
        all.sort_unstable();
        assert_eq!(all, listed);
    }
    for b in other {
        // SAFETY: live block, freed once.
        unsafe { mt_free(b as _) };
    }
}

#[test]
fn full_pages_are_found_again_through_delayed_frees() {
    let size = 2600; // a size class no other test uses
    let heap = my_heap();
    // fill more than one page so the first goes to the full queue
    let mut v: Vec<usize> = Vec::new();
    let first = mt_malloc(size) as *mut u8;
    // SAFETY: live block.
    let page = unsafe { page_of(segment_of(first), first) };
    // SAFETY: this thread's page.
    let reserved = unsafe { (*page).reserved } as usize;
    v.push(first as usize);
    for _ in 0..reserved + 2 {
        v.push(mt_malloc(size) as usize);
    }
    // SAFETY: this thread's page and heap.
    unsafe {
        assert_ne!(
            (*page).flags & FLAG_IN_FULL,
            0,
            "the exhausted page moved to the full queue"
        );
        assert!(heap::page_queue_len(&(*heap).pages[BIN_FULL]) >= 1);
    }
    let mine: Vec<usize> = v
        .iter()
        .copied()
        .filter(|&p| unsafe { page_of(segment_of(p as _), p as _) } == page)
        .collect();
    let others: Vec<usize> = v.iter().copied().filter(|p| !mine.contains(p)).collect();
    let m2 = mine.clone();
    std::thread::spawn(move || {
        for p in m2 {
            // SAFETY: live blocks.
            unsafe { mt_free(p as _) };
        }
    })
    .join()
    .unwrap();
    // the owner notices on its slow path and moves the page out of the full queue
    // SAFETY: this thread's heap.
    unsafe {
        assert!(
            !(*heap)
                .thread_delayed_free
                .load(Ordering::Acquire)
                .is_null()
        );
        heap::collect(heap, false);
    }
    for p in others {
        // SAFETY: live blocks.
        unsafe { mt_free(p as _) };
    }
}

#[test]
fn first_class_heaps() {
    let h = mt_heap_new();
    assert!(!h.is_null());
    // SAFETY: `h` is this thread's live heap until destroyed.
    unsafe {
        let mut v = Vec::new();
        for i in 0..1000 {
            let p = mt_heap_malloc(h, 16 + i % 300) as *mut u8;
            assert!(!p.is_null());
            fill(p, 16, i as u8);
            v.push(p);
        }
        let z = mt_heap_calloc(h, 10, 10) as *mut u8;
        check(z, 0, 0);
        for i in 0..100 {
            assert_eq!(*z.add(i), 0);
        }
        let a = mt_heap_aligned_alloc(h, 256, 10) as usize;
        assert_eq!(a % 256, 0);
        // free some individually, destroy drops the rest at once
        for p in v.drain(..500) {
            mt_free(p as _);
        }
        let hu = h as usize;
        let other = std::thread::spawn(move || mt_heap_malloc(hu as *mut MtHeap, 10) as usize)
            .join()
            .unwrap();
        assert_eq!(other, 0, "a heap is only usable on its own thread");
        mt_heap_destroy(h);
        mt_heap_destroy(core::ptr::null_mut());
    }
}

#[test]
fn exited_threads_abandon_and_others_reclaim() {
    let before = crate::stats::RECLAIMED.load(Ordering::Relaxed);
    let live: Vec<usize> = std::thread::spawn(|| {
        (0..5000)
            .map(|i| mt_malloc(32 + i % 500) as usize)
            .collect()
    })
    .join()
    .unwrap();
    // The thread exited (its pthread key destructor ran) with live blocks: its segments
    // are abandoned. Free half of the blocks from here (cross-thread, into abandoned pages).
    for &p in live.iter().step_by(2) {
        // SAFETY: live blocks.
        unsafe { mt_free(p as _) };
    }
    assert!(
        crate::segment::abandoned_count() > 0
            || crate::stats::RECLAIMED.load(Ordering::Relaxed) > before
    );
    // A new thread that needs segments reclaims abandoned ones.
    std::thread::spawn(|| {
        let v: Vec<usize> = (0..20_000)
            .map(|i| mt_malloc(16 + i % 1000) as usize)
            .collect();
        for p in v {
            // SAFETY: live blocks.
            unsafe { mt_free(p as _) };
        }
    })
    .join()
    .unwrap();
    assert!(
        crate::stats::RECLAIMED.load(Ordering::Relaxed) > before,
        "a segment was reclaimed"
    );
    for &p in live.iter().skip(1).step_by(2) {
        // SAFETY: live blocks.
        unsafe { mt_free(p as _) };
    }
}

#[test]
fn a_thread_whose_first_call_frees_an_inherited_block_adopts_its_segment() {
    let blocks: Vec<usize> =
        std::thread::spawn(|| (0..100).map(|_| mt_malloc(200) as usize).collect())
            .join()
            .unwrap();
    std::thread::spawn(move || {
        assert!(crate::os::tls_heap().is_null(), "no allocator call yet");
        let seg = segment_of(blocks[0] as *const u8);
        // SAFETY: `seg` holds live blocks, so it stays mapped; the blocks are live.
        unsafe {
            let abandoned = crate::segment::abandoned_purge_count(seg).is_some();
            mt_free(blocks[0] as _);
            if abandoned {
                // (unless another test's thread adopted it in between)
                assert_eq!(
                    (*seg).thread_id.load(Ordering::Relaxed),
                    crate::os::thread_id()
                );
                assert!(!crate::os::tls_heap().is_null());
            }
            for &p in &blocks[1..] {
                mt_free(p as _);
            }
        }
    })
    .join()
    .unwrap();
}

#[test]
fn thread_data_is_recycled() {
    for _ in 0..50 {
        std::thread::spawn(|| {
            let p = mt_malloc(10);
            // SAFETY: live block.
            unsafe { mt_free(p) };
        })
        .join()
        .unwrap();
    }
    assert!(crate::init::THREAD_DONE_COUNT.load(Ordering::Relaxed) >= 50);
}

#[test]
fn purge_returns_memory() {
    let before = crate::stats::PURGED.total();
    std::thread::spawn(|| {
        let v: Vec<usize> = (0..4000).map(|_| mt_malloc(1000) as usize).collect();
        for p in v {
            // SAFETY: live blocks.
            unsafe { mt_free(p as _) };
        }
        mt_collect(true);
    })
    .join()
    .unwrap();
    assert!(crate::stats::PURGED.total() > before, "pages were purged");
}

#[test]
fn own_frees_are_reused_without_the_slow_path() {
    std::thread::spawn(|| {
        let heap = my_heap();
        let first = mt_malloc(48);
        // SAFETY: the thread's own heap and blocks; the direct cache holds the page of 48.
        unsafe {
            let page = (*heap).pages_direct[48 / WORD];
            assert_eq!(
                page,
                page_of(segment_of(first as *const u8), first as *const u8)
            );
            let mut taken = Vec::new();
            while !(*page).free.is_null() {
                taken.push(mt_malloc(48) as usize);
            }
            mt_free(first);
            assert_eq!((*page).free as usize, first as usize);
            let slow = (*heap).generic_count;
            assert_eq!(mt_malloc(48), first, "the freed block comes back");
            assert_eq!((*heap).generic_count, slow, "without the generic path");
            mt_free(first);
            for p in taken {
                mt_free(p as _);
            }
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_retired_page_is_unretired_when_its_class_gets_another_page() {
    std::thread::spawn(|| {
        let heap = my_heap();
        let first = mt_malloc(48);
        // SAFETY: the thread's own heap, pages and blocks.
        unsafe {
            let page = page_of(segment_of(first as *const u8), first as *const u8);
            mt_free(first);
            let n = (*page).reserved as usize;
            // carve the whole page, then empty it: it is kept (retired), being the only
            // page of its class
            let v: Vec<usize> = (0..n).map(|_| mt_malloc(48) as usize).collect();
            for &p in &v {
                mt_free(p as _);
            }
            assert_ne!(
                (*page).retire_expire,
                0,
                "kept as the only page of its class"
            );
            // fill it from its free lists (fast path only) and one more: a second page
            let v: Vec<usize> = (0..n).map(|_| mt_malloc(48) as usize).collect();
            let other = mt_malloc(48);
            assert_ne!(
                page_of(segment_of(other as *const u8), other as *const u8),
                page
            );
            assert_eq!((*page).retire_expire, 0, "not the only page any more");
            // emptied again, the first page now goes back to its segment
            for &p in &v {
                mt_free(p as _);
            }
            let pq = &raw mut (*heap).pages[bin_of(48)];
            assert_eq!(heap::page_queue_len(pq), 1);
            assert_ne!((*pq).first, page);
            mt_free(other);
        }
    })
    .join()
    .unwrap();
}

#[test]
fn small_page_colours_keep_block_alignment() {
    let mut starts = std::collections::HashSet::new();
    for salt in 0..64 {
        for bs in [
            8usize, 16, 48, 64, 96, 160, 512, 1024, 3072, 4096, 8192, 16384,
        ] {
            let off = crate::page::colour_offset(bs, salt, 1 << SMALL_PAGE_SHIFT);
            let align = 1usize << bs.trailing_zeros().min(12);
            assert_eq!(off % align, 0, "block size {bs}, salt {salt}");
            assert!(off <= 1024);
            if bs == 48 {
                starts.insert(off);
            }
        }
    }
    assert!(
        starts.len() >= 8,
        "pages of one size start at different cache lines"
    );
}

#[test]
fn purged_memory_used_again_soon_raises_the_purge_delay() {
    std::thread::spawn(|| {
        // SAFETY: the thread's own initialised heap.
        let tld = unsafe { (*my_heap()).tld };
        // SAFETY: `tld` is this thread's.
        assert_eq!(
            unsafe { (*tld).purge_delay },
            0,
            "starts at the option's delay"
        );
        let before = crate::stats::REFAULTS.load(Ordering::Relaxed);
        for _ in 0..2 {
            // more than a segment of blocks, all freed and purged at once
            let v: Vec<usize> = (0..5000).map(|_| mt_malloc(1000) as usize).collect();
            for p in v {
                // SAFETY: live blocks.
                unsafe { mt_free(p as _) };
            }
            mt_collect(true);
        }
        // the second round claimed memory purged a moment before
        assert!(crate::stats::REFAULTS.load(Ordering::Relaxed) > before);
        // SAFETY: as above.
        let delay = unsafe { (*tld).purge_delay };
        assert!(
            delay >= 2 * crate::options::purge_delay().unwrap(),
            "delay {delay}"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn abandoned_segments_keep_pending_purges_until_due() {
    // A thread frees most of its blocks (emptied pages wait for their purge) and exits
    // with one block alive: its segment is abandoned with the purges still pending.
    let keep = std::thread::spawn(|| {
        let v: Vec<usize> = (0..2000).map(|_| mt_malloc(1000) as usize).collect();
        for &p in &v[..v.len() - 1] {
            // SAFETY: live blocks.
            unsafe { mt_free(p as _) };
        }
        v[v.len() - 1]
    })
    .join()
    .unwrap();
    let seg = segment_of(keep as *const u8);
    // SAFETY: `seg` holds the live block `keep`, so it stays mapped.
    let pending = unsafe { crate::segment::abandoned_purge_count(seg) };
    // (another test's thread may have reclaimed the segment meanwhile: it owns the purges)
    if let Some(n) = pending {
        assert!(n > 0, "pending purges survive the abandonment");
        // any thread's forced collection purges abandoned pages
        let p = mt_malloc(8);
        mt_collect(true);
        // SAFETY: as above; `p` is live.
        unsafe {
            assert!(matches!(
                crate::segment::abandoned_purge_count(seg),
                None | Some(0)
            ));
            mt_free(p);
        }
    }
    // SAFETY: live block.
    unsafe { mt_free(keep as _) };
}

#[test]
fn many_threads_share_blocks() {
    const THREADS: usize = 4;
    const OPS: usize = 20_000;
    let queue: Arc<Mutex<Vec<(usize, usize, u8)>>> = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let q = queue.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ t as u64;
                for i in 0..OPS {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let size = match rng % 100 {
                        0 => (rng >> 8) as usize % (3 << 20),
                        1..=10 => (rng >> 8) as usize % 65_536,
                        _ => (rng >> 8) as usize % 512,
                    };
                    let p = mt_malloc(size) as *mut u8;
                    let seed = (i ^ t) as u8;
                    fill(p, size.min(64), seed);
                    if rng.is_multiple_of(2) {
                        q.lock().unwrap().push((p as usize, size, seed));
                    } else {
                        check(p, size.min(64), seed);
                        // SAFETY: live block.
                        unsafe { mt_free(p as _) };
                    }
                    if rng.is_multiple_of(3) {
                        let item = q.lock().unwrap().pop();
                        if let Some((p, size, seed)) = item {
                            check(p as *const u8, size.min(64), seed);
                            // SAFETY: live block taken from the queue once.
                            unsafe { mt_free(p as _) };
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for (p, size, seed) in queue.lock().unwrap().drain(..) {
        check(p as *const u8, size.min(64), seed);
        // SAFETY: live block.
        unsafe { mt_free(p as _) };
    }
}

#[test]
fn bins_of_page_kinds() {
    assert_eq!(
        bin_of(SMALL_OBJ_MAX),
        bin_of(SMALL_OBJ_MAX - 1) + 1 - if SMALL_OBJ_MAX > 128 { 1 } else { 0 }
    );
    let p = mt_malloc(MEDIUM_OBJ_MAX) as *mut u8;
    // SAFETY: live block.
    unsafe {
        assert_eq!((*segment_of(p)).kind, PageKind::Medium);
        mt_free(p as _);
    }
    let p = mt_malloc(MEDIUM_OBJ_MAX + 1) as *mut u8;
    // SAFETY: live block.
    unsafe {
        assert_eq!((*segment_of(p)).kind, PageKind::Large);
        mt_free(p as _);
    }
    let p = mt_malloc(100) as *mut u8;
    // SAFETY: live block.
    unsafe {
        assert_eq!((*segment_of(p)).kind, PageKind::Small);
        mt_free(p as _);
    }
}

#[test]
fn version_stats_and_options() {
    assert_eq!(mt_version(), 100);
    let p = mt_malloc(100);
    let mut s = crate::stats::Stats::default();
    // SAFETY: valid out-pointer, live block.
    unsafe {
        mt_stats_get(&mut s);
        mt_stats_get(core::ptr::null_mut());
        mt_free(p);
    }
    assert!(s.segments_current >= 1);
    assert!(s.committed_peak >= s.committed_current);
    assert!(s.threads_total >= 1);
    assert_eq!(mt_option_get(99), -1);
    assert_eq!(mt_option_get(3), 4);
    assert!(mt_init_mode() >= 1);
}

#[test]
fn heap_malloc_aligned_rejects_bad_alignment() {
    // SAFETY: this thread's heap.
    unsafe {
        assert!(heap_malloc_aligned(my_heap(), 10, 3, false).is_null());
    }
}
