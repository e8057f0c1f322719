//! Two steps of a build at once, on two threads where the platform has them.
//!
//! Building and compacting are CPU-bound and made of steps that need different parts of the
//! same data (the FST and the rank tables of one segment, streaming keys and copying rows), so
//! a second core shortens them without changing a byte of the output. Where threads cannot be
//! made (WebAssembly, or the operating system refuses one), the steps run one after the other.

use std::sync::Mutex;

/// Runs `a` on this thread and `b` on another, and returns both results. Falls back to
/// running `b` after `a` here when no thread can be made. A panic in either step is passed on.
pub(crate) fn join<RA, RB>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB + Send) -> (RA, RB)
where
    RA: Send,
    RB: Send,
{
    if !threads_available() {
        return (a(), b());
    }
    // The slot lets this thread run `b` itself if the spawn fails.
    let slot = Mutex::new(Some(b));
    let take = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("edgesuggest-build".into())
            .spawn_scoped(s, || take().map(|b| b()));
        let ra = a();
        let rb = match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        };
        match rb.or_else(|| take().map(|b| b())) {
            Some(rb) => (ra, rb),
            // `b` ran in exactly one of the two places above.
            None => unreachable!("the second step ran nowhere"),
        }
    })
}

/// Runs `produce` on another thread and `consume` on this one, each item `produce` emits
/// handed over through a queue of at most `depth` items. `emit` returns false once the
/// consumer has stopped (on its error): the producer should then stop too. The consumer's
/// error wins over the producer's. Where no thread can be made, `produce` runs first into an
/// unbounded queue.
pub(crate) fn pipeline<T, E, P, C>(depth: usize, produce: P, mut consume: C) -> Result<(), E>
where
    T: Send,
    E: Send,
    P: FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), E> + Send,
    C: FnMut(T) -> Result<(), E>,
{
    // The slot lets this thread run `produce` itself if the spawn fails.
    let slot = Mutex::new(Some(produce));
    let take = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    if threads_available() {
        let threaded = std::thread::scope(|s| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(depth);
            let producer = std::thread::Builder::new()
                .name("edgesuggest-build".into())
                .spawn_scoped(s, move || {
                    take().map(|produce| produce(&mut |item| sender.send(item).is_ok()))
                })
                .ok()?;
            let mut consumed = Ok(());
            // Consuming `receiver` drops it on an error, which stops the producer.
            for item in receiver {
                if let Err(e) = consume(item) {
                    consumed = Err(e);
                    break;
                }
            }
            let produced = producer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Some(consumed.and(produced.unwrap_or(Ok(()))))
        });
        if let Some(result) = threaded {
            return result;
        }
    }
    let mut queue = Vec::new();
    if let Some(produce) = take() {
        produce(&mut |item| {
            queue.push(item);
            true
        })?;
    }
    queue.into_iter().try_for_each(consume)
}

/// Whether this build can make threads: not on WebAssembly without threads.
pub(crate) fn threads_available() -> bool {
    !cfg!(target_family = "wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_hands_over_every_item_in_order() {
        let mut seen = Vec::new();
        let result: Result<(), String> = pipeline(
            2,
            |emit| {
                for i in 0..1000u32 {
                    if !emit(i) {
                        break;
                    }
                }
                Ok(())
            },
            |i| {
                seen.push(i);
                Ok(())
            },
        );
        assert_eq!(result, Ok(()));
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn pipeline_stops_the_producer_on_the_consumers_error() {
        let result: Result<(), String> = pipeline(
            1,
            |emit| {
                for i in 0..u32::MAX {
                    if !emit(i) {
                        return Err("stopped".into());
                    }
                }
                Ok(())
            },
            |i| {
                if i == 10 {
                    Err(format!("bad item {i}"))
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(result, Err("bad item 10".to_string()));
    }

    #[test]
    fn pipeline_passes_on_the_producers_error() {
        let mut seen = 0;
        let result: Result<(), String> = pipeline(
            4,
            |emit| {
                emit(1u8);
                Err("corrupt input".into())
            },
            |_| {
                seen += 1;
                Ok(())
            },
        );
        assert_eq!(result, Err("corrupt input".to_string()));
        assert_eq!(seen, 1);
    }

    #[test]
    fn join_returns_both_results_in_order() {
        let data: Vec<u64> = (1..=1000).collect();
        let (sum, max) = join(|| data.iter().sum::<u64>(), || data.iter().max().copied());
        assert_eq!(sum, 500_500);
        assert_eq!(max, Some(1000));
    }
}
