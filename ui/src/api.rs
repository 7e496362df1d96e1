//! Typed calls into the Tauri shell. Every failure arrives as an `ApiError`, whether the engine
//! refused (`{code, message}`) or the IPC layer itself did (a bare string).

use serde::{de::DeserializeOwned, Serialize};
use telltale_model::{ApiError, Dashboard, ErrorCode, History, HistoryQuery};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

async fn call<A: Serialize, T: DeserializeOwned>(cmd: &str, args: &A) -> Result<T, ApiError> {
    let args = serde_wasm_bindgen::to_value(args)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("encoding {cmd}: {e}")))?;
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("decoding {cmd}: {e}"))),
        Err(err) => Err(
            serde_wasm_bindgen::from_value::<ApiError>(err.clone()).unwrap_or_else(|_| {
                ApiError::new(
                    ErrorCode::Internal,
                    err.as_string().unwrap_or_else(|| format!("{cmd} failed")),
                )
            }),
        ),
    }
}

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct QueryArgs<'a> {
    query: &'a HistoryQuery,
}

pub async fn dashboard() -> Result<Dashboard, ApiError> {
    call("dashboard", &NoArgs {}).await
}

pub async fn history(query: &HistoryQuery) -> Result<History, ApiError> {
    call("history", &QueryArgs { query }).await
}
