//! The memory store's bound, [`LoginThrottle::MAX_MEMORY_ENTRIES`], on a full table: a new key makes room, a
//! known key is updated in place. Mutation testing found that nothing checked it (TESTING.md).

use super::*;

#[tokio::test]
async fn a_full_memory_store_stays_within_its_bound() {
    let throttle = LoginThrottle::builder().build();
    let Store::Memory(map) = &throttle.store else { unreachable!("a memory store") };
    let now = Instant::now();
    {
        let mut map = map.lock().unwrap();
        for i in 0..LoginThrottle::MAX_MEMORY_ENTRIES as u64 {
            let mut key = [0xffu8; 32];
            key[..8].copy_from_slice(&i.to_le_bytes());
            map.insert(key, Entry { failures: 1, blocked_until: now, expires_at: now + Duration::from_secs(3600) });
        }
    }
    let keys = throttle.keys("newcomer@example.com", ClientIp::Unseen);
    let key = keys.keys[0].1;
    // A new key in a table full of live counters: one of them makes room, the table keeps its size.
    throttle.reserve(&keys).await.unwrap().expect("no delay yet");
    assert_eq!(map.lock().unwrap().len(), LoginThrottle::MAX_MEMORY_ENTRIES);
    // Its next failure updates it in place: no other counter is dropped.
    throttle.reserve(&keys).await.unwrap().expect("no delay yet");
    let map = map.lock().unwrap();
    assert_eq!(map.len(), LoginThrottle::MAX_MEMORY_ENTRIES);
    assert_eq!(map[&key].failures, 2);
}
