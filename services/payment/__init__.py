"""Payment service: stripe payments, deposits, refunds, Connect splits, fee rules and the ledger."""
