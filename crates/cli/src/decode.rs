//! `telltale decode <kind>`: one captured payload decoded and printed as one line of JSON, to
//! check a device or a broker's traffic by hand. Malformed input is an error (exit 1), never a
//! partial answer.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum DecodeCommand {
    /// A Sparkplug B (spBv1.0) MQTT message: protobuf, or JSON on STATE topics.
    Sparkplug(SparkplugArgs),
}

#[derive(Args)]
pub struct SparkplugArgs {
    /// The MQTT topic, e.g. spBv1.0/Plant1/NDATA/Edge01 or spBv1.0/STATE/host.
    #[arg(long)]
    topic: String,
    /// The MQTT payload, base64 (standard alphabet; padding optional).
    #[arg(long)]
    base64: String,
}

pub fn run(command: DecodeCommand) -> Result<(), String> {
    match command {
        DecodeCommand::Sparkplug(args) => sparkplug(&args),
    }
}

fn sparkplug(args: &SparkplugArgs) -> Result<(), String> {
    let bytes = base64(&args.base64)?;
    let message =
        telltale_sparkplug::decode(&args.topic, &bytes).map_err(|error| error.to_string())?;
    let json = serde_json::to_string(&message).map_err(|error| error.to_string())?;
    println!("{json}");
    Ok(())
}

/// Copied payloads often lose their trailing `=`: accept them with or without.
fn base64(text: &str) -> Result<Vec<u8>, String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT
        .decode(text.trim())
        .map_err(|error| format!("--base64 is not base64: {error}"))
}
