"""The pages that belong to no organization: the home page and the portal's entrance."""
