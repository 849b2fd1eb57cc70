//! SageMaker calls per request, with instant creates and deletes.

use crate::Result;
use crate::harness::{Stage, Subject};

/// The requests, in the order of [`Calls::requests`].
pub const REQUESTS: [&str; 4] = ["Create", "in-place Update", "no-op Update", "Delete"];

/// The operations called, in order, for each of [`REQUESTS`].
pub struct Calls {
    pub requests: [Vec<String>; 4],
}

pub async fn measure(subject: &Subject) -> Result<Calls> {
    let stage = Stage::start(subject).await?;
    let events = stage.events();
    let run = |event| {
        let stage = &stage;
        async move {
            stage.sagemaker.clear_calls();
            let invocation = stage.invoke(&event).await?;
            Ok::<_, String>((invocation.physical_id, stage.sagemaker.operations()))
        }
    };
    let (id, create) = run(events.create(0)).await?;
    let (_, update_in_place) = run(events.update(&id, 0, 1)).await?;
    let (_, update_no_op) = run(events.update(&id, 1, 1)).await?;
    let (_, delete) = run(events.delete(&id, 1)).await?;
    Ok(Calls {
        requests: [create, update_in_place, update_no_op, delete],
    })
}

/// `3: ListAliases, Create, Describe` (`ImageVersion` left out; repeats as `×n`).
pub fn summary(operations: &[String]) -> String {
    let mut parts: Vec<(String, usize)> = Vec::new();
    for op in operations {
        let short = op.replace("ImageVersion", "");
        match parts.iter_mut().find(|(name, _)| *name == short) {
            Some((_, n)) => *n += 1,
            None => parts.push((short, 1)),
        }
    }
    let listed: Vec<String> = parts
        .into_iter()
        .map(|(name, n)| if n == 1 { name } else { format!("{name}×{n}") })
        .collect();
    format!("{}: {}", operations.len(), listed.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary_groups_repeats() {
        let ops: Vec<String> = [
            "ListAliases",
            "CreateImageVersion",
            "DescribeImageVersion",
            "DescribeImageVersion",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(super::summary(&ops), "4: ListAliases, Create, Describe×2");
    }
}
