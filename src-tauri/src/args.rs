//! Command arguments as the IPC contract (`telltale_model::ipc`) declares them: the whole
//! argument object of a call, read into the command's struct in one go.

use serde::de::DeserializeOwned;
use tauri::ipc::{CommandArg, CommandItem, InvokeBody, InvokeError};
use tauri::Runtime;
use telltale_model::ipc::Command;
use telltale_model::ApiError;

/// The arguments of command `C`, as one struct.
pub struct Args<C>(pub C);

/// What command `C` answers.
pub type Answer<C> = Result<<C as Command>::Answer, ApiError>;

impl<'de, C: Command + DeserializeOwned, R: Runtime> CommandArg<'de, R> for Args<C> {
    fn from_command(command: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        // A command that took another command's arguments would read the wrong fields: refuse
        // it at its first call rather than misread.
        if command.name != C::NAME {
            return Err(InvokeError::from(format!(
                "command {} is declared with the arguments of {}",
                command.name,
                C::NAME
            )));
        }
        let parsed = match command.message.payload() {
            InvokeBody::Json(value) => C::deserialize(value),
            InvokeBody::Raw(_) => {
                return Err(InvokeError::from(format!(
                    "{}: arguments must be a JSON object",
                    C::NAME
                )))
            }
        };
        parsed
            .map(Args)
            .map_err(|e| InvokeError::from(format!("{}: invalid arguments: {e}", C::NAME)))
    }
}
