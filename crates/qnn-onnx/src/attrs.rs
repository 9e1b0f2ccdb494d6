//! Typed access to a node's attributes. Every attribute must be read by the op's importer:
//! [`Attrs::finish`] reports the first one nobody asked for, so an attribute the importer does
//! not understand is an error naming it rather than silently ignored.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::constant::Constant;
use crate::error::OnnxError;
use crate::proto::{AttributeProto, NodeProto};

/// The attributes of one node, with the node's name for errors.
#[derive(Debug)]
pub(crate) struct Attrs<'a> {
    node: &'a NodeProto,
    label: String,
    read: RefCell<BTreeSet<&'a str>>,
}

/// `AttributeProto.AttributeType` codes.
const FLOAT: i32 = 1;
const INT: i32 = 2;
const STRING: i32 = 3;
const TENSOR: i32 = 4;
const FLOATS: i32 = 6;
const INTS: i32 = 7;

impl<'a> Attrs<'a> {
    pub fn new(node: &'a NodeProto, label: String) -> Self {
        Attrs { node, label, read: RefCell::new(BTreeSet::new()) }
    }

    pub fn error(&self, attr: &str, msg: impl Into<String>) -> OnnxError {
        OnnxError::Attribute {
            node: self.label.clone(),
            op_type: self.node.op_type.clone(),
            attr: attr.into(),
            msg: msg.into(),
        }
    }

    fn get(
        &self,
        name: &str,
        want: i32,
        kind: &str,
    ) -> Result<Option<&'a AttributeProto>, OnnxError> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        self.read.borrow_mut().insert(&a.name);
        if !a.ref_attr_name.is_empty() {
            return Err(
                self.error(name, "refers to a function attribute; functions are not supported")
            );
        }
        // Type 0 (UNDEFINED) comes from old writers: trust the field that is set.
        if a.r#type != 0 && a.r#type != want {
            return Err(
                self.error(name, format!("expected {kind}, got attribute type {}", a.r#type))
            );
        }
        Ok(Some(a))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, OnnxError> {
        Ok(self.get(name, INT, "an int")?.map(|a| a.i))
    }

    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, OnnxError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub fn float_or(&self, name: &str, default: f32) -> Result<f32, OnnxError> {
        Ok(self.get(name, FLOAT, "a float")?.map_or(default, |a| a.f))
    }

    pub fn float(&self, name: &str) -> Result<Option<f32>, OnnxError> {
        Ok(self.get(name, FLOAT, "a float")?.map(|a| a.f))
    }

    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, OnnxError> {
        Ok(self.get(name, INTS, "a list of ints")?.map(|a| a.ints.clone()))
    }

    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, OnnxError> {
        Ok(self.get(name, FLOATS, "a list of floats")?.map(|a| a.floats.clone()))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, OnnxError> {
        match self.get(name, STRING, "a string")? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone())
                .map(Some)
                .map_err(|_| self.error(name, "is not UTF-8")),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<Option<Constant>, OnnxError> {
        match self.get(name, TENSOR, "a tensor")? {
            None => Ok(None),
            Some(a) => {
                let t = a.t.as_ref().ok_or_else(|| self.error(name, "holds no tensor"))?;
                Constant::from_proto(t).map(Some)
            }
        }
    }

    /// A boolean flag stored as an int (0 or 1).
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, OnnxError> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(self.error(name, format!("must be 0 or 1, got {v}"))),
        }
    }

    /// Errors on the first attribute no reader asked for.
    pub fn finish(&self) -> Result<(), OnnxError> {
        let read = self.read.borrow();
        match self.node.attribute.iter().find(|a| !read.contains(a.name.as_str())) {
            Some(a) => Err(self.error(&a.name, "is not supported by the importer")),
            None => Ok(()),
        }
    }
}
