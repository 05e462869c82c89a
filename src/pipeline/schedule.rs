//! How a run's chunks share the slots of `--concurrency`.
//!
//! A run's chunks differ widely in length: a day of recordings takes a request per recorded
//! conversation, a dimension listing one request, a quiet day fewer pages than a busy one.
//! Held in order (`futures`' `buffered`), a chunk that finished kept its slot until every chunk
//! before it was done, so one long chunk left the other slots idle behind it: in an `extract
//! --dataset all`, the dimension listings and WFM jobs waited out the last day of recordings,
//! and in a `rebuild` the cores waited through a long day's final flushes
//! (`benches/profile.md`, "Eighteenth round" and "Nineteenth round").

use std::future::Future;

use futures::{FutureExt, StreamExt};

/// Runs `task` on each of `items`, at most `limit` at once (a limit of 0 is taken as 1). Items
/// start in their order, the next as soon as any running one finishes: `extract` relies on
/// that order (a dataset's next job is submitted ahead, and a failed dataset's chunks not yet
/// started are skipped). The results come back in the items' order, which is how the commit
/// matches them to their chunks.
pub(crate) async fn in_any_order<I, F, Fut>(items: I, limit: usize, mut task: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let mut results: Vec<(usize, Fut::Output)> =
        futures::stream::iter(items.into_iter().enumerate())
            .map(|(at, item)| task(item).map(move |out| (at, out)))
            .buffer_unordered(limit.max(1))
            .collect()
            .await;
    results.sort_unstable_by_key(|(at, _)| *at);
    results.into_iter().map(|(_, out)| out).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    /// How many items run now, and the most that ran at once.
    #[derive(Default)]
    struct Peak(Mutex<(usize, usize)>);

    impl Peak {
        fn enter(&self) {
            let mut r = self.0.lock().unwrap();
            r.0 += 1;
            r.1 = r.1.max(r.0);
        }

        fn leave(&self) {
            self.0.lock().unwrap().0 -= 1;
        }

        fn most(self) -> usize {
            self.0.into_inner().unwrap().1
        }
    }

    /// The first item cannot finish until the third has started: in order, with two slots,
    /// the third would wait for the first, and the run would never end. The clock is paused
    /// and only moves when every task is idle, so the deadline below is reached only by such
    /// a deadlock, never by a slow host.
    #[tokio::test(start_paused = true)]
    async fn a_finished_item_frees_its_slot_while_an_earlier_one_runs() {
        let (started, third_started) = oneshot::channel::<()>();
        let started = Mutex::new(Some(started));
        let third_started = Mutex::new(Some(third_started));
        let order = Mutex::new(Vec::new());
        let run = in_any_order(0..4, 2, |i| {
            let (started, third_started, order) = (&started, &third_started, &order);
            async move {
                match i {
                    0 => {
                        let wait = third_started.lock().unwrap().take().unwrap();
                        wait.await.unwrap();
                    }
                    2 => started.lock().unwrap().take().unwrap().send(()).unwrap(),
                    _ => {}
                }
                order.lock().unwrap().push(i);
                i * 10
            }
        });
        let results = tokio::time::timeout(Duration::from_secs(3600), run)
            .await
            .expect("the third item waited for the first");
        assert_eq!(results, vec![0, 10, 20, 30], "results in the items' order");
        let order = order.into_inner().unwrap();
        assert_eq!(order[0], 1, "the second item finished first: {order:?}");
        assert!(
            order.iter().position(|&i| i == 2) < order.iter().position(|&i| i == 0),
            "the third item finished before the first: {order:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_run_at_once() {
        for limit in [1, 2, 3] {
            let running = Peak::default();
            let results = in_any_order(0..10u64, limit, |i| {
                let running = &running;
                async move {
                    running.enter();
                    // Items of uneven lengths, finishing out of order.
                    tokio::time::sleep(Duration::from_millis((i * 7) % 5 + 1)).await;
                    running.leave();
                    i
                }
            })
            .await;
            assert_eq!(results, (0..10).collect::<Vec<_>>());
            assert_eq!(running.most(), limit, "limit {limit}");
        }
    }

    /// Without the floor of one, a limit of 0 would start nothing and never end: the paused
    /// clock then reaches the deadline at once.
    #[tokio::test(start_paused = true)]
    async fn a_limit_of_zero_runs_one_at_a_time() {
        let running = Peak::default();
        let run = in_any_order(["a", "bb", "ccc"], 0, |s| {
            let running = &running;
            async move {
                running.enter();
                tokio::time::sleep(Duration::from_millis(1)).await;
                running.leave();
                s.len()
            }
        });
        let results = tokio::time::timeout(Duration::from_secs(3600), run)
            .await
            .expect("nothing ran");
        assert_eq!(results, vec![1, 2, 3]);
        assert_eq!(running.most(), 1);
    }
}
