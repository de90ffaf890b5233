//! `depends_on`: what its names mean and the checks made when the config is read
//! (every name known, no cycles). The daemon resolves with the same function.

use std::collections::HashMap;

use super::model::{GroupConfig, ProcessConfig};
use super::{ConfigError, Reader};

/// The processes one `depends_on` entry names, as (group, process) pairs: `g:*` or
/// `g:` a whole group, `g:p` one process, and a bare name a group or else every
/// process of the program section of that name. None when nothing matches.
pub fn resolve<'a>(
    groups: impl Iterator<Item = (&'a str, &'a [std::rc::Rc<ProcessConfig>])> + Clone,
    spec: &str,
) -> Option<Vec<(String, String)>> {
    let pairs = |procs: &[std::rc::Rc<ProcessConfig>], g: &str, pick: &dyn Fn(&ProcessConfig) -> bool| {
        procs.iter().filter(|p| pick(p)).map(|p| (g.to_string(), p.name.clone())).collect::<Vec<_>>()
    };
    let found = match spec.split_once(':') {
        Some((g, p)) => {
            let (gname, procs) = groups.clone().find(|(n, _)| *n == g)?;
            match p {
                "" | "*" => pairs(procs, gname, &|_| true),
                p => pairs(procs, gname, &|c| c.name == p),
            }
        }
        None => match groups.clone().find(|(n, _)| *n == spec) {
            Some((gname, procs)) => pairs(procs, gname, &|_| true),
            None => groups.flat_map(|(g, procs)| pairs(procs, g, &|c| c.program == spec)).collect(),
        },
    };
    (!found.is_empty()).then_some(found)
}

/// The section a process came from, for error locations.
fn section_of(r: &Reader, pc: &ProcessConfig) -> String {
    let fcgi = format!("fcgi-program:{}", pc.program);
    if r.ini.section(&fcgi).is_some() {
        fcgi
    } else {
        format!("program:{}", pc.program)
    }
}

/// Every `depends_on` name must match something, and the graph must have no cycle.
pub(crate) fn check(r: &Reader, groups: &[GroupConfig]) -> Result<(), ConfigError> {
    let view = || groups.iter().map(|g| (g.name.as_str(), g.processes.as_slice()));
    let mut edges: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut section_for: HashMap<(String, String), String> = HashMap::new();
    for g in groups {
        for pc in &g.processes {
            let node = (g.name.clone(), pc.name.clone());
            let section = section_of(r, pc);
            let mut deps = Vec::new();
            for spec in &pc.supervision.depends_on {
                match resolve(view(), spec) {
                    Some(found) => deps.extend(found),
                    None => {
                        return Err(r.err(
                            &section,
                            Some("depends_on"),
                            format!("{spec} is not a program, group or group:process of this config"),
                        ))
                    }
                }
            }
            section_for.insert(node.clone(), section);
            order.push(node.clone());
            edges.insert(node, deps);
        }
    }
    // Depth-first search with colours; the stack gives the cycle's path.
    let mut colour: HashMap<&(String, String), u8> = HashMap::new();
    for start in &order {
        let mut stack: Vec<(&(String, String), usize)> = vec![(start, 0)];
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        colour.insert(start, 1);
        while let Some(&mut (node, ref mut i)) = stack.last_mut() {
            let next = edges.get(node).and_then(|d| d.get(*i));
            *i += 1;
            match next {
                None => {
                    colour.insert(node, 2);
                    stack.pop();
                }
                Some(dep) => match colour.get(dep).copied().unwrap_or(0) {
                    0 => {
                        colour.insert(dep, 1);
                        stack.push((dep, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut path: Vec<String> = stack[from..].iter().map(|(n, _)| display(n)).collect();
                        path.push(display(dep));
                        let section = section_for.get(dep).cloned().unwrap_or_default();
                        return Err(r.err(
                            &section,
                            Some("depends_on"),
                            format!("dependency cycle: {}", path.join(" -> ")),
                        ));
                    }
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

fn display((g, p): &(String, String)) -> String {
    if g == p {
        p.clone()
    } else {
        format!("{g}:{p}")
    }
}
