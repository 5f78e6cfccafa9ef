//! Moving through a workflow: a run's position is a path such as `[4, "then", 0]`, so a step
//! may sit inside an `if`. The run records themselves live in `store::runs`.

pub use crate::store::runs::{RunRecord, RunStatus, Seg, StepPath, StepRecord, StepStatus};
use crate::workflow::Step;
use serde_json::Value;

/// The step at `path`, if the path points at one.
pub fn step_at<'a>(steps: &'a [Step], path: &[Seg]) -> Option<&'a Step> {
    let (first, rest) = path.split_first()?;
    let Seg::Index(i) = first else { return None };
    let step = steps.get(*i)?;
    if rest.is_empty() {
        return Some(step);
    }
    let (branch, rest) = rest.split_first()?;
    let crate::workflow::StepKind::If(cond) = &step.kind else {
        return None;
    };
    let list = match branch {
        Seg::Branch(b) if b == "then" => &cond.then,
        Seg::Branch(b) if b == "else" => &cond.otherwise,
        _ => return None,
    };
    step_at(list, rest)
}

/// The first step of a branch of the `if` at `path`, or the step after the `if` when the
/// branch is empty.
pub fn enter_branch(steps: &[Step], path: &[Seg], branch: &str) -> Option<StepPath> {
    let mut inner = path.to_vec();
    inner.push(Seg::Branch(branch.to_string()));
    inner.push(Seg::Index(0));
    if step_at(steps, &inner).is_some() {
        Some(inner)
    } else {
        next_after(steps, path)
    }
}

/// The position after the step at `path`, climbing out of finished branches; `None` at the end.
pub fn next_after(steps: &[Step], path: &[Seg]) -> Option<StepPath> {
    let mut p = path.to_vec();
    loop {
        let Some(Seg::Index(i)) = p.pop() else {
            return None;
        };
        p.push(Seg::Index(i + 1));
        if step_at(steps, &p).is_some() {
            return Some(p);
        }
        // Past the end of this list: leave the branch and continue after its `if`.
        p.pop();
        p.pop()?;
    }
}

/// The path as JSON (`[4, "then", 0]`), as shown in step records.
pub fn path_json(path: &[Seg]) -> Value {
    serde_json::to_value(path).expect("paths serialise")
}

/// Marks `run` succeeded at `now`: no step is left.
pub fn mark_succeeded(run: &mut RunRecord, now: crate::domain::time::Millis) {
    run.position = None;
    run.status = RunStatus::Succeeded;
    run.finished_at = Some(crate::domain::time::rfc3339(now));
}

/// Marks `run` failed at `now`, with a failed record of the step at `path` (none when the run
/// failed before a step, e.g. its workflow version no longer loads).
pub fn mark_failed(
    run: &mut RunRecord,
    path: Option<StepPath>,
    kind: &str,
    input: Value,
    message: String,
    now: crate::domain::time::Millis,
) {
    let now = crate::domain::time::rfc3339(now);
    if let Some(path) = path {
        run.steps.push(StepRecord {
            path,
            kind: kind.to_string(),
            status: StepStatus::Failed,
            input,
            output: Value::Null,
            error: Some(message.clone()),
            started_at: now.clone(),
            finished_at: now.clone(),
        });
    }
    run.status = RunStatus::Failed;
    run.error = Some(message);
    run.finished_at = Some(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Expr, If, Pos, Step, StepKind};

    fn leaf() -> Step {
        Step {
            kind: StepKind::SetDnd(true),
            pos: Pos::default(),
        }
    }

    fn cond(then: Vec<Step>, otherwise: Vec<Step>) -> Step {
        let condition = Expr {
            source: "true".into(),
            pos: Pos::default(),
        };
        Step {
            kind: StepKind::If(If {
                condition,
                then,
                otherwise,
            }),
            pos: Pos::default(),
        }
    }

    fn p(v: Value) -> StepPath {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn positions_walk_into_and_out_of_branches() {
        // [0] leaf, [1] if { then: [leaf, if { then: [leaf] }], else: [] }, [2] leaf
        let steps = vec![
            leaf(),
            cond(vec![leaf(), cond(vec![leaf()], vec![])], vec![]),
            leaf(),
        ];
        assert_eq!(
            next_after(&steps, &p(serde_json::json!([0]))),
            Some(p(serde_json::json!([1])))
        );
        assert_eq!(
            enter_branch(&steps, &p(serde_json::json!([1])), "then"),
            Some(p(serde_json::json!([1, "then", 0])))
        );
        assert_eq!(
            enter_branch(&steps, &p(serde_json::json!([1])), "else"),
            Some(p(serde_json::json!([2]))),
            "empty else goes on after the if"
        );
        assert_eq!(
            next_after(&steps, &p(serde_json::json!([1, "then", 0]))),
            Some(p(serde_json::json!([1, "then", 1])))
        );
        assert_eq!(
            next_after(&steps, &p(serde_json::json!([1, "then", 1, "then", 0]))),
            Some(p(serde_json::json!([2]))),
            "climbs two levels"
        );
        assert_eq!(next_after(&steps, &p(serde_json::json!([2]))), None);
        assert!(step_at(&steps, &p(serde_json::json!([1, "then", 1, "then", 0]))).is_some());
        assert!(step_at(&steps, &p(serde_json::json!([0, "then", 0]))).is_none());
    }

    #[test]
    fn paths_serialise_as_mixed_arrays() {
        let path = p(serde_json::json!([4, "then", 0]));
        assert_eq!(path_json(&path), serde_json::json!([4, "then", 0]));
    }
}
