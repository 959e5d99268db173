"""Medical-insurance orders (chapter 5) and in-clinic insurance (chapter 6): answered from the examples."""
