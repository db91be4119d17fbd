//! The start order: which service starts after which, and which can never
//! start (unknown dependency, cycle, duplicate name, blocked dependency).

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::ServiceDesc;

/// Why a service was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An earlier service in the slice has the same name.
    Duplicate,
    /// `depends` names no service.
    UnknownDependency(&'static str),
    /// The service is on a dependency cycle; the names follow the `depends`
    /// edges from the first back to it.
    Cycle(Vec<&'static str>),
    /// A dependency can never start (it is itself blocked).
    DependencyBlocked(&'static str),
    /// A dependency's `init` failed, or it was skipped, at run time.
    DependencyFailed(&'static str),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate => write!(f, "another service has the same name"),
            Self::UnknownDependency(d) => write!(f, "unknown dependency '{d}'"),
            Self::Cycle(names) => {
                write!(f, "dependency cycle ")?;
                for n in names {
                    write!(f, "{n} -> ")?;
                }
                write!(f, "{}", names.first().copied().unwrap_or(""))
            }
            Self::DependencyBlocked(d) => write!(f, "dependency '{d}' cannot start"),
            Self::DependencyFailed(d) => write!(f, "dependency '{d}' failed"),
        }
    }
}

/// A service [`plan`] will not start, by index into the slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Index of the service.
    pub index: usize,
    /// Why it cannot start.
    pub reason: SkipReason,
}

/// The outcome of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartPlan {
    /// Indices of the startable services, each after all its dependencies.
    pub order: Vec<usize>,
    /// The others, sorted by name.
    pub blocked: Vec<Blocked>,
}

/// Looks a service up by name, then by alias.
pub(super) fn find(services: &[ServiceDesc], name: &str) -> Option<usize> {
    services
        .iter()
        .position(|s| s.name == name)
        .or_else(|| services.iter().position(|s| s.answers_to(name)))
}

/// For each service, its dependencies resolved to indices (`Err` keeps an
/// unknown name), duplicates removed, declaration order kept.
pub(super) fn resolve(services: &[ServiceDesc]) -> Vec<Vec<Result<usize, &'static str>>> {
    services
        .iter()
        .map(|s| {
            let mut deps: Vec<Result<usize, &'static str>> = Vec::new();
            for &d in s.depends {
                let r = find(services, d).ok_or(d);
                if !deps.contains(&r) {
                    deps.push(r);
                }
            }
            deps
        })
        .collect()
}

#[derive(Clone)]
enum Mark {
    Unvisited,
    Visiting,
    Ok,
    Blocked(SkipReason),
}

struct Planner<'a> {
    services: &'a [ServiceDesc],
    deps: Vec<Vec<Result<usize, &'static str>>>,
    marks: Vec<Mark>,
    cycle: Vec<Option<Vec<&'static str>>>,
    path: Vec<usize>,
}

impl Planner<'_> {
    /// Depth-first classification; returns whether `i` can start. Recursion
    /// depth is bounded by the number of services (tens).
    fn visit(&mut self, i: usize) -> bool {
        match self.marks[i] {
            Mark::Ok => return true,
            Mark::Blocked(_) => return false,
            Mark::Visiting | Mark::Unvisited => {}
        }
        self.marks[i] = Mark::Visiting;
        self.path.push(i);
        let mut failure = None;
        for k in 0..self.deps[i].len() {
            let reason = match self.deps[i][k] {
                Err(name) => Some(SkipReason::UnknownDependency(name)),
                Ok(d) if matches!(self.marks[d], Mark::Visiting) => {
                    // `d` is on the current path: path[d..] plus the edge back
                    // to `d` is a cycle; every member reports it.
                    let from = self.path.iter().position(|&p| p == d).unwrap_or(0);
                    let names: Vec<&'static str> = self.path[from..]
                        .iter()
                        .map(|&p| self.services[p].name)
                        .collect();
                    for &member in &self.path[from..] {
                        self.cycle[member].get_or_insert_with(|| names.clone());
                    }
                    None
                }
                Ok(d) => {
                    (!self.visit(d)).then(|| SkipReason::DependencyBlocked(self.services[d].name))
                }
            };
            if failure.is_none() {
                failure = reason;
            }
        }
        self.path.pop();
        self.marks[i] = match (self.cycle[i].take(), failure) {
            (Some(names), _) => Mark::Blocked(SkipReason::Cycle(names)),
            (None, Some(reason)) => Mark::Blocked(reason),
            (None, None) => Mark::Ok,
        };
        matches!(self.marks[i], Mark::Ok)
    }
}

/// Orders `services` for starting; see [`StartPlan`].
pub fn plan(services: &[ServiceDesc]) -> StartPlan {
    let n = services.len();
    let mut by_name: Vec<usize> = (0..n).collect();
    by_name.sort_by_key(|&i| (services[i].name, i));

    let mut planner = Planner {
        services,
        deps: resolve(services),
        marks: vec![Mark::Unvisited; n],
        cycle: vec![None; n],
        path: Vec::new(),
    };
    for (i, s) in services.iter().enumerate() {
        if find(services, s.name) != Some(i) {
            planner.marks[i] = Mark::Blocked(SkipReason::Duplicate);
        }
    }
    for &i in &by_name {
        planner.visit(i);
    }

    // Kahn's algorithm over the startable services, smallest name first.
    let ok = |i: usize| matches!(planner.marks[i], Mark::Ok);
    let mut waiting: Vec<usize> = (0..n)
        .map(|i| planner.deps[i].iter().filter(|d| d.is_ok()).count())
        .collect();
    let mut ready: BTreeSet<(&'static str, usize)> = (0..n)
        .filter(|&i| ok(i) && waiting[i] == 0)
        .map(|i| (services[i].name, i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for j in (0..n).filter(|&j| ok(j)) {
            if planner.deps[j].contains(&Ok(i)) {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.insert((services[j].name, j));
                }
            }
        }
    }

    let blocked = by_name
        .iter()
        .filter_map(|&i| match &planner.marks[i] {
            Mark::Blocked(reason) => Some(Blocked {
                index: i,
                reason: reason.clone(),
            }),
            _ => None,
        })
        .collect();
    StartPlan { order, blocked }
}
