def reinforce_grad(key, logits, rewards):
    return logits
