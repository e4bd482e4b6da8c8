"""Development tooling: starting the throwaway services that `make run`, tests and benches use."""
