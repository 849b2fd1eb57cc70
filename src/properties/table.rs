//! The resource's properties, one row each. This is the one place that says
//! what a template may hold: the parser, the replacement diff, the metadata
//! sent to and read back from SageMaker, the Reason for an unknown name and
//! the README's table all follow these rows. Adding a SageMaker field is one
//! row here.

use aws_sdk_sagemaker::types::{JobType, Processor, VendorGuidance};

use aws_sdk_sagemaker::operation::create_image_version::builders::CreateImageVersionFluentBuilder;
use aws_sdk_sagemaker::operation::describe_image_version::DescribeImageVersionOutput;
use aws_sdk_sagemaker::operation::update_image_version::builders::UpdateImageVersionFluentBuilder;

pub(crate) const IMAGE_NAME: &str = "ImageName";
pub(crate) const BASE_IMAGE: &str = "BaseImage";
pub(crate) const REGION: &str = "Region";
pub(crate) const EXISTING_VERSION: &str = "ExistingVersion";
pub(crate) const SERVICE_TIMEOUT: &str = "ServiceTimeout";

pub(crate) struct Property {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) on_change: OnChange,
}

/// What a value must be; `rules.rs` holds the checks.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    ImageName,
    /// 1 to `max` characters.
    Text {
        max: usize,
    },
    /// A name and a version, such as `PyTorch 2.3`.
    NameAndVersion,
    Region,
    AliasList,
    Boolean,
    /// One of the SDK's known values of an enum.
    OneOf(fn() -> &'static [&'static str]),
    /// A version number: a whole number from 1.
    VersionNumber,
    /// Whole seconds, 1 to `max`.
    Seconds {
        max: u64,
    },
    /// Any value: CloudFormation's own, accepted, not used.
    Any,
}

pub(crate) enum OnChange {
    /// A new version is created; CloudFormation deletes the old one.
    Replacement,
    /// Changed on the version with `UpdateImageVersion`.
    InPlace,
    /// SageMaker metadata, changed in place; the SDK member that carries it.
    Metadata(Member),
    /// Read at Create only: removing it later changes nothing, changing it FAILS.
    CreateOnly,
    /// Bounds how long a request may take, across hand-offs (`handoff`).
    BoundsTheRequest,
    Nothing,
}

/// How the SDK carries one metadata member: its setter on both write
/// operations and its getter on `DescribeImageVersion`'s output. Its home is
/// the table, whose metadata rows hold one each; the SDK seam only calls it.
pub(crate) struct Member {
    pub(crate) on_create: fn(CreateImageVersionFluentBuilder, &str) -> CreateImageVersionFluentBuilder,
    pub(crate) on_update: fn(UpdateImageVersionFluentBuilder, &str) -> UpdateImageVersionFluentBuilder,
    pub(crate) read: fn(&DescribeImageVersionOutput) -> Option<String>,
}

/// The SDK member of a metadata property: the builder setter and the output
/// getter share its name, on both write operations; its wire form is a
/// string (`text`), an SDK enum (`enum`) or a boolean (`bool`).
macro_rules! member {
    ($member:ident, text) => {
        Member {
            on_create: |r, v| r.$member(v),
            on_update: |r, v| r.$member(v),
            read: |out| out.$member().map(str::to_owned),
        }
    };
    ($member:ident, enum) => {
        Member {
            on_create: |r, v| r.$member(v.into()),
            on_update: |r, v| r.$member(v.into()),
            read: |out| out.$member().map(|v| v.as_str().to_owned()),
        }
    };
    ($member:ident, bool) => {
        Member {
            on_create: |r, v| r.$member(v == "true"),
            on_update: |r, v| r.$member(v == "true"),
            read: |out| out.$member().map(|v| v.to_string()),
        }
    };
}

const fn property(name: &'static str, kind: Kind, required: bool, on_change: OnChange) -> Property {
    Property {
        name,
        kind,
        required,
        on_change,
    }
}

const fn metadata(name: &'static str, kind: Kind, member: Member) -> Property {
    property(name, kind, false, OnChange::Metadata(member))
}

pub(crate) const ALL: [Property; 14] = [
    property(IMAGE_NAME, Kind::ImageName, true, OnChange::Replacement),
    property(BASE_IMAGE, Kind::Text { max: 255 }, true, OnChange::Replacement),
    property(REGION, Kind::Region, false, OnChange::Replacement),
    property("Aliases", Kind::AliasList, false, OnChange::InPlace),
    metadata("Horovod", Kind::Boolean, member!(horovod, bool)),
    metadata("JobType", Kind::OneOf(JobType::values), member!(job_type, enum)),
    metadata("MLFramework", Kind::NameAndVersion, member!(ml_framework, text)),
    metadata("ProgrammingLang", Kind::NameAndVersion, member!(programming_lang, text)),
    metadata("Processor", Kind::OneOf(Processor::values), member!(processor, enum)),
    metadata("ReleaseNotes", Kind::Text { max: 255 }, member!(release_notes, text)),
    metadata(
        "VendorGuidance",
        Kind::OneOf(VendorGuidance::values),
        member!(vendor_guidance, enum),
    ),
    property(EXISTING_VERSION, Kind::VersionNumber, false, OnChange::CreateOnly),
    property("ServiceToken", Kind::Any, false, OnChange::Nothing),
    property(
        SERVICE_TIMEOUT,
        Kind::Seconds { max: 3600 },
        false,
        OnChange::BoundsTheRequest,
    ),
];

impl Property {
    /// Set on the resource for CloudFormation rather than for the version.
    const fn is_cloudformations(&self) -> bool {
        matches!(self.on_change, OnChange::Nothing | OnChange::BoundsTheRequest)
    }
}

const fn count(set_by_cloudformation: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < ALL.len() {
        if ALL[i].is_cloudformations() == set_by_cloudformation {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn names<const N: usize>(set_by_cloudformation: bool) -> [&'static str; N] {
    let mut names = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < ALL.len() {
        if ALL[i].is_cloudformations() == set_by_cloudformation {
            names[n] = ALL[i].name;
            n += 1;
        }
        i += 1;
    }
    names
}

/// The resource's own properties, in the contract's order.
pub const PROPERTIES: [&str; count(false)] = names(false);

/// Properties that CloudFormation sets itself.
pub const CLOUDFORMATION_PROPERTIES: [&str; count(true)] = names(true);

pub(crate) fn find(name: &str) -> Option<&'static Property> {
    ALL.iter().find(|p| p.name == name)
}

/// The metadata rows: what `UpdateImageVersion` can change in place.
pub(crate) fn metadata_members() -> impl Iterator<Item = (&'static str, &'static Member)> {
    ALL.iter().filter_map(|p| match &p.on_change {
        OnChange::Metadata(member) => Some((p.name, member)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's Properties table, row by row: (names, "On change" cell).
    fn readme_rows() -> Vec<(Vec<String>, String)> {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Properties").nth(1).expect("a Properties section");
        section
            .lines()
            .skip_while(|l| !l.starts_with("| Property"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let names = cells[1]
                    .split(',')
                    .map(|n| n.trim().trim_matches('`').to_owned())
                    .collect();
                (names, cells[cells.len() - 2].to_owned())
            })
            .collect()
    }

    #[test]
    fn service_token_and_service_timeout_are_cloudformation_s_not_the_version_s() {
        assert_eq!(CLOUDFORMATION_PROPERTIES, ["ServiceToken", "ServiceTimeout"]);
        assert!(CLOUDFORMATION_PROPERTIES.iter().all(|p| !PROPERTIES.contains(p)));
    }

    #[test]
    fn the_readme_lists_every_property_in_table_order_with_what_a_change_does() {
        let rows = readme_rows();
        let listed: Vec<String> = rows.iter().flat_map(|(names, _)| names.clone()).collect();
        let table: Vec<&str> = ALL.iter().map(|p| p.name).collect();
        assert_eq!(
            listed, table,
            "README.md's Properties table and properties::table::ALL differ"
        );
        for (names, on_change) in &rows {
            for name in names {
                let expected = match find(name).unwrap().on_change {
                    OnChange::Replacement => "replacement",
                    OnChange::InPlace | OnChange::Metadata(_) => "in place",
                    OnChange::CreateOnly => "Create only",
                    OnChange::BoundsTheRequest => "bounds how long a request may take",
                    OnChange::Nothing => "accepted, not used",
                };
                assert!(
                    on_change.starts_with(expected),
                    "{name}: README says {on_change:?}, the table {expected:?}"
                );
            }
        }
    }
}
