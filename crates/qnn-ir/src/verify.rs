//! The graph verifier: every value defined once, before use; types consistent.

use std::collections::HashSet;

use crate::error::IrError;
use crate::graph::{Graph, ValueDef, ValueId};
use crate::infer::infer_type;
use crate::limits::Limits;

impl Graph {
    /// [`Graph::verify_with`] the process-wide default [`Limits`].
    pub fn verify(&self) -> Result<(), IrError> {
        self.verify_with(&Limits::default())
    }

    /// Checks that
    /// * every value's type, and all of them together, fit `limits` (first, so that nothing
    ///   below computes with sizes that overflow);
    /// * value names are unique and every value's definition is consistent (inputs are listed
    ///   as inputs, node outputs point back at their node, constants have their tensor's type);
    /// * every node reads only values defined before it (inputs, constants, earlier nodes);
    /// * every node's declared output type is what inference gives for its inputs;
    /// * graph outputs exist.
    pub fn verify_with(&self, limits: &Limits) -> Result<(), IrError> {
        limits.check_values(&self.name, self.values.iter().map(|v| (v.name.as_str(), &v.ty)))?;
        let mut names = HashSet::with_capacity(self.values.len());
        for v in &self.values {
            if !names.insert(v.name.as_str()) {
                return Err(IrError::Redefined { name: v.name.clone() });
            }
        }
        let n_values = self.values.len();
        let check = |id: ValueId, who: &str| -> Result<(), IrError> {
            if id.index() >= n_values {
                return Err(IrError::Undefined { node: who.into(), value: format!("#{}", id.0) });
            }
            Ok(())
        };
        for &i in &self.inputs {
            check(i, "graph inputs")?;
            if self.value(i).def != ValueDef::Input {
                return Err(IrError::Graph {
                    msg: format!("graph input `{}` is not defined as an input", self.value(i).name),
                });
            }
        }
        let mut listed = vec![false; n_values];
        for &i in &self.inputs {
            listed[i.index()] = true;
        }
        let mut defined = vec![false; n_values];
        for (i, v) in self.values.iter().enumerate() {
            match &v.def {
                ValueDef::Input => {
                    if !listed[i] {
                        return Err(IrError::Graph {
                            msg: format!(
                                "value `{}` is an input but not listed among the graph inputs",
                                v.name
                            ),
                        });
                    }
                    defined[i] = true;
                }
                ValueDef::Const(t) => {
                    if t.ty() != v.ty {
                        return Err(IrError::TypeMismatch {
                            name: v.name.clone(),
                            op: "constant".into(),
                            declared: v.ty.to_string(),
                            inferred: t.ty().to_string(),
                        });
                    }
                    defined[i] = true;
                }
                ValueDef::Node(n) => {
                    if self.nodes.get(*n).map(|node| node.output) != Some(ValueId(i as u32)) {
                        return Err(IrError::Graph {
                            msg: format!(
                                "value `{}` names node {n}, which does not define it",
                                v.name
                            ),
                        });
                    }
                }
            }
        }
        for node in &self.nodes {
            let mut tys = Vec::with_capacity(node.inputs.len());
            for &inp in &node.inputs {
                check(inp, &node.name)?;
                if !defined[inp.index()] {
                    return Err(IrError::Undefined {
                        node: node.name.clone(),
                        value: format!("`{}`", self.value(inp).name),
                    });
                }
                tys.push(&self.value(inp).ty);
            }
            check(node.output, &node.name)?;
            if defined[node.output.index()] {
                return Err(IrError::Redefined { name: self.value(node.output).name.clone() });
            }
            let inferred = infer_type(&node.op, &tys).map_err(|e| e.in_node(&node.name))?;
            let declared = &self.value(node.output).ty;
            if &inferred != declared {
                return Err(IrError::TypeMismatch {
                    name: self.value(node.output).name.clone(),
                    op: node.describe(),
                    declared: declared.to_string(),
                    inferred: inferred.to_string(),
                });
            }
            defined[node.output.index()] = true;
        }
        for &o in &self.outputs {
            check(o, "graph outputs")?;
            if !defined[o.index()] {
                return Err(IrError::Undefined {
                    node: "graph outputs".into(),
                    value: format!("`{}`", self.value(o).name),
                });
            }
        }
        Ok(())
    }
}
