//! The metadata SageMaker keeps on a version: the table's metadata rows, by
//! property name, each value as SageMaker's wire form writes it.

use std::collections::BTreeMap;

use super::table;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata(BTreeMap<&'static str, String>);

impl Metadata {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The metadata rows' values, as `value_of` gives them by name.
    pub(crate) fn from_values(mut value_of: impl FnMut(&'static str) -> Option<String>) -> Self {
        Metadata(
            table::metadata_members()
                .filter_map(|(name, _)| value_of(name).map(|v| (name, v)))
                .collect(),
        )
    }

    /// The fields of `self` that differ from `actual`: what an in-place update
    /// sends. A field absent from `self` is left alone.
    pub(crate) fn changes_from(&self, actual: &Metadata) -> Metadata {
        Metadata(
            self.0
                .iter()
                .filter(|(name, wanted)| actual.0.get(*name) != Some(*wanted))
                .map(|(name, wanted)| (*name, wanted.clone()))
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Property names set in `old` but not in `self`. SageMaker cannot clear
    /// a metadata field, so removing one from the template leaves its value.
    pub(crate) fn removed_since(&self, old: &Metadata) -> Vec<&'static str> {
        table::metadata_members()
            .map(|(name, _)| name)
            .filter(|name| old.0.contains_key(name) && !self.0.contains_key(name))
            .collect()
    }

    /// Each value with the SDK member that carries it.
    pub(crate) fn members(&self) -> impl Iterator<Item = (&'static super::table::Member, &str)> {
        table::metadata_members().filter_map(|(name, member)| Some((member, self.get(name)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> Metadata {
        Metadata::from_values(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn an_update_sends_only_what_differs() {
        let wanted = metadata(&[("JobType", "TRAINING"), ("Processor", "GPU")]);
        let actual = metadata(&[("JobType", "TRAINING"), ("Processor", "CPU"), ("ReleaseNotes", "kept")]);
        assert_eq!(wanted.changes_from(&actual), metadata(&[("Processor", "GPU")]));
    }

    #[test]
    fn each_value_set_goes_out_through_its_member() {
        let set = metadata(&[("JobType", "TRAINING"), ("Processor", "GPU")]);
        let values: Vec<&str> = set.members().map(|(_, value)| value).collect();
        assert_eq!(values, ["TRAINING", "GPU"]);
        assert_eq!(metadata(&[]).members().count(), 0);
    }

    #[test]
    fn removed_properties_are_named_in_table_order() {
        let old = metadata(&[
            ("VendorGuidance", "STABLE"),
            ("Horovod", "true"),
            ("JobType", "TRAINING"),
        ]);
        let new = metadata(&[("JobType", "TRAINING")]);
        assert_eq!(new.removed_since(&old), vec!["Horovod", "VendorGuidance"]);
    }
}
