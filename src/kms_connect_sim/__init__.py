"""Loopback simulators of Microsoft Entra ID and Azure DevOps for tests, benchmarks and the demo mode.

`world` describes the pretend Azure, `entra` and `devops` serve it over HTTPS with a throwaway CA
(`tls`), and `sandbox` runs both together with a sample scenario. Core layer: no Textual here.
"""
