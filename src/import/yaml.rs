//! YAML (and JSON, which YAML reads) as a small tree whose every node knows its line, built
//! from `yaml-rust2`'s marked events: the crate's own `Yaml` tree drops the positions, and
//! an import's notes and errors name the line of each key.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A node of the tree.
#[derive(Clone, Debug)]
pub enum Node {
    /// A scalar, as written, and its line.
    Scalar(String, usize),
    /// A sequence and the line it starts on.
    Seq(Vec<Node>, usize),
    /// A mapping: (key, key's line, value), in the file's order; and the line it starts on.
    Map(Vec<(String, usize, Node)>, usize),
}

impl Node {
    /// The node's line.
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar(_, l) | Node::Seq(_, l) | Node::Map(_, l) => *l,
        }
    }

    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    /// The value at a dotted path of mappings.
    pub fn path(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |n, k| n.get(k))
    }

    /// A scalar's text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// A sequence's items (none for anything else).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items, _) => items,
            _ => &[],
        }
    }

    /// The value as written, short: a scalar's text, `{...}` or `[...]`.
    pub fn shown(&self) -> String {
        match self {
            Node::Scalar(s, _) => s.clone(),
            Node::Seq(..) => "[...]".into(),
            Node::Map(..) => "{...}".into(),
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(String, usize, Node)>, Option<(String, usize)>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    problem: Option<(usize, String)>,
}

impl Builder {
    fn insert(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, key, _)) => match key.take() {
                Some((k, line)) => entries.push((k, line, node)),
                None => match node {
                    Node::Scalar(k, line) => *key = Some((k, line)),
                    other => {
                        let line = other.line();
                        self.problem.get_or_insert((line, "a mapping's key must be a plain value".into()));
                        *key = Some((String::new(), line));
                    }
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(s, ..) => self.insert(Node::Scalar(s, line)),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), line)),
            Event::MappingStart(..) => self.stack.push(Frame::Map(Vec::new(), None, line)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq(items, l)) => Node::Seq(items, l),
                    Some(Frame::Map(entries, _, l)) => Node::Map(entries, l),
                    None => return,
                };
                self.insert(node);
            }
            Event::Alias(_) => {
                self.problem.get_or_insert((
                    line,
                    "YAML aliases (*name) are not supported: write the value out".into(),
                ));
                self.insert(Node::Scalar(String::new(), line));
            }
            _ => {}
        }
    }
}

/// Parses the text's first document: the tree, or (line, problem).
pub fn parse(text: &str) -> Result<Node, (usize, String)> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|e| (e.marker().line(), e.info().to_string()))?;
    if let Some(p) = builder.problem {
        return Err(p);
    }
    builder.root.ok_or((0, "the file is empty".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_lines_in_yaml_and_json() {
        let y = parse("a:\n  b: 1\n  c:\n    - x\n    - y\n").unwrap();
        assert_eq!(y.path("a.b").map(|n| (n.text().unwrap().to_string(), n.line())), Some(("1".into(), 2)));
        assert_eq!(y.path("a.c").unwrap().items()[1].line(), 5);
        let j = parse("{\n \"a\": {\n  \"b\": 2\n }\n}\n").unwrap();
        assert_eq!(j.path("a.b").map(|n| (n.text().unwrap().to_string(), n.line())), Some(("2".into(), 3)));
        assert_eq!(parse("a: [1,\n").unwrap_err().0, 2);
    }
}
