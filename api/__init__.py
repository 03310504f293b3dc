"""The FastAPI sidecar: session control (seed 2 spec) over the runtime's SessionManager."""
