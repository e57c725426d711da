"""Provider adapters, one module per wire format (openai, anthropic, local), and the HTTP plumbing they share
(http, common). Nothing here is imported until the registry needs it."""
