//! Image-version ARNs: what `PhysicalResourceId` holds.

use std::fmt;

/// `arn:<partition>:sagemaker:<region>:<account>:image-version/<name>/<version>`.
///
/// SageMaker writes the image name in lower case here, so the name taken
/// from an ARN is only a fallback for the one in the properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageVersionArn {
    partition: String,
    pub(crate) region: String,
    account: String,
    pub(crate) image_name: String,
    pub(crate) version: i32,
}

impl ImageVersionArn {
    /// `None` for anything that is not an image-version ARN, such as the
    /// placeholder of a Create that failed before a version existed.
    pub(crate) fn parse(arn: &str) -> Option<Self> {
        let mut fields = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("sagemaker"), Some(region), Some(account), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return None;
        };
        let (image_name, version) = resource.strip_prefix("image-version/")?.split_once('/')?;
        let version: i32 = version.parse().ok().filter(|v| *v >= 1 && !version.starts_with('+'))?;
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !plain(partition) || !plain(region) || !plain(account) || !plain(&image_name.replace('.', "")) {
            return None;
        }
        Some(ImageVersionArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            image_name: image_name.to_owned(),
            version,
        })
    }

    /// The image name to send to SageMaker: the one from the properties when
    /// it names this ARN's image (the ARN has it in lower case), else the
    /// ARN's own.
    pub(crate) fn image_name_for<'a>(&'a self, from_properties: Option<&'a str>) -> &'a str {
        from_properties
            .filter(|name| name.eq_ignore_ascii_case(&self.image_name))
            .unwrap_or(&self.image_name)
    }
}

impl fmt::Display for ImageVersionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:sagemaker:{}:{}:image-version/{}/{}",
            self.partition, self.region, self.account, self.image_name, self.version
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_region_name_and_version() {
        let arn =
            ImageVersionArn::parse("arn:aws-cn:sagemaker:cn-north-1:123456789012:image-version/my.img/12").unwrap();
        assert_eq!(arn.partition, "aws-cn");
        assert_eq!(arn.region, "cn-north-1");
        assert_eq!(arn.image_name, "my.img");
        assert_eq!(arn.version, 12);
        assert_eq!(
            arn.to_string(),
            "arn:aws-cn:sagemaker:cn-north-1:123456789012:image-version/my.img/12"
        );
    }

    #[test]
    fn anything_else_is_not_an_image_version_arn() {
        for id in [
            "",
            "failed-create-5b3c",
            "MyResource-ABC123",
            "arn:aws:sagemaker:us-east-1:123456789012:image/img",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/0",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/x",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/+1",
            "arn:aws:s3:us-east-1:123456789012:image-version/img/1",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/1/2",
        ] {
            assert_eq!(ImageVersionArn::parse(id), None, "{id}");
        }
    }

    #[test]
    fn image_name_comes_from_properties_when_it_matches_case_insensitively() {
        let arn = ImageVersionArn::parse("arn:aws:sagemaker:us-east-1:1:image-version/myimage/3").unwrap();
        assert_eq!(arn.image_name_for(Some("MyImage")), "MyImage");
        assert_eq!(arn.image_name_for(Some("other")), "myimage");
        assert_eq!(arn.image_name_for(None), "myimage");
    }
}
