//! The whole test process runs on `MeteorAlloc`: std collections, strings, threads and
//! the test harness itself allocate through it.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;

use meteor_alloc::MeteorAlloc;

#[global_allocator]
static GLOBAL: MeteorAlloc = MeteorAlloc;

#[test]
fn std_collections_work() {
    let mut m = HashMap::new();
    for i in 0..50_000u64 {
        m.insert(i, i.to_string());
    }
    let mut b = BTreeMap::new();
    for (k, v) in &m {
        b.insert(v.clone(), *k);
    }
    assert_eq!(b.len(), 50_000);
    assert_eq!(m[&4242], "4242");
    let mut v: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; i * 7]).collect();
    v.retain(|x| x.len() % 2 == 0);
    assert_eq!(v.len(), 500);
}

#[test]
fn over_aligned_layouts() {
    #[repr(align(64))]
    #[allow(dead_code)]
    struct A64([u8; 64]);
    #[repr(align(4096))]
    #[allow(dead_code)]
    struct A4k([u8; 100]);
    #[repr(align(65536))]
    #[allow(dead_code)]
    struct A64k([u8; 10]);
    let a: Vec<Box<A64>> = (0..100).map(|_| Box::new(A64([1; 64]))).collect();
    for x in &a {
        assert_eq!(&**x as *const A64 as usize % 64, 0);
    }
    let b = Box::new(A4k([2; 100]));
    assert_eq!(&*b as *const A4k as usize % 4096, 0);
    let c = Box::new(A64k([3; 10]));
    assert_eq!(&*c as *const A64k as usize % 65536, 0);
    let mut v: Vec<u128> = Vec::new();
    for i in 0..10_000 {
        v.push(i);
        assert_eq!(v.as_ptr() as usize % 16, 0);
    }
}

#[test]
fn zeroed_and_realloc() {
    let v = vec![0u64; 1 << 20];
    assert!(v.iter().all(|&x| x == 0));
    let mut s = String::new();
    for i in 0..100_000 {
        s.push(char::from(b'a' + (i % 26) as u8));
    }
    assert_eq!(s.len(), 100_000);
    assert!(s.starts_with("abcdefghijklmnopqrstuvwxyz"));
}

#[test]
fn blocks_move_between_threads() {
    let (tx, rx) = mpsc::channel::<Vec<u32>>();
    let producer = std::thread::spawn(move || {
        for i in 0..20_000u32 {
            tx.send(vec![i; (i % 300) as usize + 1]).unwrap();
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut n = 0u64;
        for v in rx {
            assert!(v.iter().all(|&x| x == v[0]));
            n += v.len() as u64;
        }
        n
    });
    producer.join().unwrap();
    assert!(consumer.join().unwrap() > 20_000);
}
