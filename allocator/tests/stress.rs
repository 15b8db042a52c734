//! Stress: N threads x M operations with random sizes (small to huge), cross-thread frees
//! through shared queues, and canaries written at allocation and checked before free.
//!
//! The normal run is moderate; `METEOR_ALLOC_STRESS=long` (or `--ignored`) runs the long one.

use std::sync::{Arc, Mutex};

use meteor_alloc::{mt_aligned_alloc, mt_calloc, mt_free, mt_malloc, mt_realloc, mt_usable_size};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[derive(Clone, Copy)]
struct Block {
    ptr: usize,
    size: usize,
    canary: u64,
}

fn random_size(rng: &mut Rng) -> usize {
    match rng.next() % 1000 {
        0..=1 => 2_000_000 + (rng.next() % 8_000_000) as usize, // huge
        2..=20 => 16_384 + (rng.next() % 500_000) as usize,     // medium and large
        21..=200 => 1024 + (rng.next() % 15_000) as usize,      // small pages, no direct cache
        _ => (rng.next() % 1024) as usize,                      // small, direct cache
    }
}

/// Canary: the first and last 8 bytes (or every byte for tiny blocks) derived from `canary`.
fn write_canary(b: &Block) {
    let p = b.ptr as *mut u8;
    let bytes = b.canary.to_le_bytes();
    // SAFETY: the block has `size` writable bytes.
    unsafe {
        if b.size < 16 {
            for i in 0..b.size {
                *p.add(i) = bytes[i % 8];
            }
        } else {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, 8);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(b.size - 8), 8);
            if b.size >= 4096 {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(b.size / 2), 8);
            }
        }
    }
}

fn check_canary(b: &Block) {
    let p = b.ptr as *const u8;
    let bytes = b.canary.to_le_bytes();
    // SAFETY: the block has `size` readable bytes.
    unsafe {
        if b.size < 16 {
            for i in 0..b.size {
                assert_eq!(*p.add(i), bytes[i % 8], "canary of a {}-byte block", b.size);
            }
        } else {
            let mut got = [0u8; 8];
            std::ptr::copy_nonoverlapping(p, got.as_mut_ptr(), 8);
            assert_eq!(got, bytes, "head canary of a {}-byte block", b.size);
            std::ptr::copy_nonoverlapping(p.add(b.size - 8), got.as_mut_ptr(), 8);
            assert_eq!(got, bytes, "tail canary of a {}-byte block", b.size);
            if b.size >= 4096 {
                std::ptr::copy_nonoverlapping(p.add(b.size / 2), got.as_mut_ptr(), 8);
                assert_eq!(got, bytes, "middle canary of a {}-byte block", b.size);
            }
        }
        assert!(mt_usable_size(p as _) >= b.size);
    }
}

fn alloc(rng: &mut Rng) -> Block {
    let size = random_size(rng);
    let kind = rng.next() % 16;
    let ptr = match kind {
        0 => mt_calloc(1, size) as usize,
        1 => {
            let align = 16usize << (rng.next() % 10);
            let p = mt_aligned_alloc(align, size) as usize;
            assert_eq!(p % align, 0);
            p
        }
        _ => mt_malloc(size) as usize,
    };
    assert_ne!(ptr, 0, "allocation of {size} bytes failed");
    if kind == 0 {
        // SAFETY: `size` readable bytes.
        let s = unsafe { std::slice::from_raw_parts(ptr as *const u8, size) };
        assert!(s.iter().all(|&b| b == 0), "calloc memory is zero");
    }
    let b = Block {
        ptr,
        size,
        canary: rng.next() | 1,
    };
    write_canary(&b);
    b
}

fn release(b: Block) {
    check_canary(&b);
    // SAFETY: live block, freed once.
    unsafe { mt_free(b.ptr as _) };
}

fn run(threads: usize, ops: usize, queues: usize) {
    let shared: Arc<Vec<Mutex<Vec<Block>>>> =
        Arc::new((0..queues).map(|_| Mutex::new(Vec::new())).collect());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0xDEAD_BEEF_1234_5678 ^ ((t as u64 + 1) * 0x9E37_79B9));
                let mut local: Vec<Block> = Vec::new();
                for _ in 0..ops {
                    match rng.next() % 10 {
                        0..=3 => local.push(alloc(&mut rng)),
                        4..=5 => {
                            // hand a block to another thread
                            let b = alloc(&mut rng);
                            let q = (rng.next() as usize) % shared.len();
                            shared[q].lock().unwrap().push(b);
                        }
                        6..=7 => {
                            if !local.is_empty() {
                                let i = (rng.next() as usize) % local.len();
                                release(local.swap_remove(i));
                            }
                        }
                        8 => {
                            // free a block some thread (maybe another one) allocated
                            let q = (rng.next() as usize) % shared.len();
                            let b = shared[q].lock().unwrap().pop();
                            if let Some(b) = b {
                                release(b);
                            }
                        }
                        _ => {
                            if !local.is_empty() {
                                let i = (rng.next() as usize) % local.len();
                                let b = local[i];
                                check_canary(&b);
                                let new_size = random_size(&mut rng);
                                // SAFETY: live block.
                                let p = unsafe { mt_realloc(b.ptr as _, new_size) } as usize;
                                assert_ne!(p, 0);
                                let nb = Block {
                                    ptr: p,
                                    size: new_size,
                                    canary: rng.next() | 1,
                                };
                                write_canary(&nb);
                                local[i] = nb;
                            }
                        }
                    }
                }
                // leave some blocks behind for other threads (their pages get abandoned)
                let keep = local.len() / 3;
                for b in local.drain(keep..) {
                    release(b);
                }
                let q = t % shared.len();
                shared[q].lock().unwrap().extend(local);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for q in shared.iter() {
        for b in q.lock().unwrap().drain(..) {
            release(b);
        }
    }
}

#[test]
fn stress_moderate() {
    if std::env::var("METEOR_ALLOC_STRESS").as_deref() == Ok("long") {
        run(8, 400_000, 4);
    } else {
        run(4, 30_000, 3);
    }
}

#[test]
fn stress_thread_churn() {
    // Waves of short-lived threads: abandonment and reclaim under cross-thread frees.
    for _ in 0..4 {
        run(4, 3_000, 2);
    }
}

#[test]
#[ignore = "long stress run: cargo test -p meteor-alloc --release -- --ignored"]
fn stress_long() {
    run(16, 1_000_000, 8);
}
